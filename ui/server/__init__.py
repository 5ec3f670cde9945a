"""The "Local server" page: the OpenAI-compatible server (backend.server) switched on and off from the window.

`ServerPage(controller, base_config)` (page.py) with a `ServerController(make_server)`
(controller.py) is the whole of it. The composition root (app/gui.py, `add_server_page`) builds
both, adds the page to the window and puts its shutdown on the window's shutdown list.
"""
