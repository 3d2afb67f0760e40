; Inno Setup script for Deskapp on Windows (Inno Setup 6).
;
; On a Windows machine with Python 3.11 and Inno Setup 6 installed, from the repository root:
;   py -3.11 -m venv .venv
;   .venv\Scripts\python -m pip install -e .[dev,installer]
;   for %f in (ui\*.ui) do .venv\Scripts\pyside6-uic --from-imports %f -o deskapp\qt\generated\%~nf_ui.py
;   .venv\Scripts\python installer\build.py --no-deb
;   "%ProgramFiles(x86)%\Inno Setup 6\ISCC.exe" installer\windows\deskapp.iss
; writes dist\Deskapp-<version>-setup.exe. Pass /DAppVersion=x.y.z to ISCC to override.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "Deskapp"
#define Root "..\.."

[Setup]
AppId={{6E4B2E0C-6F0B-4A57-9C1B-5B8F1D2C7A31}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Deskapp
AppComments=A desktop service desk for IT incident management (ITIL)
DefaultDirName={autopf}\Deskapp
DefaultGroupName=Deskapp
DisableProgramGroupPage=yes
; Per-user install without admin rights by default; admins may install for all users.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#Root}\dist
OutputBaseFilename=Deskapp-{#AppVersion}-setup
SetupIconFile={#Root}\build\installer\icons\deskapp.ico
UninstallDisplayIcon={app}\deskapp.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
MinVersion=10.0

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; The PyInstaller one-folder bundle: deskapp.exe (windowed), deskapp-cli.exe (console) and _internal\.
Source: "{#Root}\dist\deskapp\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Deskapp"; Filename: "{app}\deskapp.exe"
Name: "{group}\{cm:UninstallProgram,Deskapp}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\Deskapp"; Filename: "{app}\deskapp.exe"; Tasks: desktopicon

[Run]
; Check the installation works before offering to start it (silent installs too).
Filename: "{app}\deskapp-cli.exe"; Parameters: "--smoke-test"; StatusMsg: "Checking the installation..."; Flags: runhidden waituntilterminated
Filename: "{app}\deskapp.exe"; Description: "{cm:LaunchProgram,Deskapp}"; Flags: nowait postinstall skipifsilent
