; Inno Setup script for Tern on Windows (Inno Setup 6). Built by .github/workflows/release.yml:
;   iscc /DAppVersion=0.1.0 /DSourceDir=..\..\build\dist\Tern /DIconFile=..\..\build\icons\tern.ico ^
;        /DOutputDir=..\..\build\packages packaging\windows\tern.iss
; Installs the PyInstaller folder (Tern.exe, tern-cli.exe, _internal\) per user by default
; (no admin prompt; "Install for all users" is offered), with a Start-menu shortcut.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef SourceDir
  #define SourceDir "..\..\build\dist\Tern"
#endif
#ifndef IconFile
  #define IconFile "..\..\build\icons\tern.ico"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\build\packages"
#endif

[Setup]
; AppId identifies Tern across versions for upgrades and uninstall: never change it.
AppId={{D5B03291-9F74-4650-8AF8-60205854404B}
AppName=Tern
AppVersion={#AppVersion}
AppVerName=Tern {#AppVersion}
AppPublisher=Tern contributors
AppComments=Chat offline with 1.58-bit (ternary) language models
DefaultDirName={autopf}\Tern
DefaultGroupName=Tern
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=tern-{#AppVersion}-windows-x86_64-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\Tern.exe
UninstallDisplayName=Tern {#AppVersion}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
VersionInfoVersion={#AppVersion}
VersionInfoProductName=Tern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\Tern"; Filename: "{app}\Tern.exe"; AppUserModelID: "org.tern.Tern"; Comment: "Chat offline with ternary language models"
Name: "{autodesktop}\Tern"; Filename: "{app}\Tern.exe"; Tasks: desktopicon; AppUserModelID: "org.tern.Tern"

[Run]
Filename: "{app}\Tern.exe"; Description: "{cm:LaunchProgram,Tern}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Only the program folder; conversations and models in %LOCALAPPDATA%\Tern stay.
Type: filesandordirs; Name: "{app}\_internal"
