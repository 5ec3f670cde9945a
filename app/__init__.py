"""Tern: a desktop chat app for 1.58-bit (ternary) language models."""

__version__ = "0.1.0"
APP_NAME = "Tern"
APP_ID = "org.tern.Tern"
