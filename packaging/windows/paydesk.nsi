; PayDesk's Windows installer (NSIS 3, makensis). Build it with packaging/windows/build.sh, which passes:
;   -DVERSION=0.1.0           the package version (Cargo.toml)
;   -DSTAGE=/path/dir         paydesk.exe (stripped), LICENSE.txt, OFL-NotoSansCJK.txt, README.md
;   -DOUTFILE=/path/paydesk-setup-0.1.0.exe
; Installs paydesk.exe and the licences into Program Files, with Start-menu and desktop shortcuts, an
; uninstaller and an Add/Remove Programs entry. Not its job: the ledger, configuration and logs in
; %APPDATA%\paydesk, which PayDesk creates itself and the uninstaller keeps.

Unicode true
; A 64-bit installer: PayDesk is x64 only, and a 32-bit installer stub cannot run under a 64-bit-only Wine.
Target amd64-unicode
SetCompressor /SOLID lzma

!ifndef VERSION
  !error "pass -DVERSION=x.y.z"
!endif
!ifndef STAGE
  !error "pass -DSTAGE=path/to/staged/files"
!endif
!ifndef OUTFILE
  !define OUTFILE "paydesk-setup-${VERSION}.exe"
!endif
; The icon, relative to this script.
!define ROOT "..\.."

!include "MUI2.nsh"
!include "WinVer.nsh"

!define APP "PayDesk"
!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\PayDesk"

Name "${APP}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\${APP}"
InstallDirRegKey HKLM "Software\${APP}" "InstallDir"
RequestExecutionLevel admin
ManifestDPIAware true
BrandingText "${APP} ${VERSION}"

VIProductVersion "${VERSION}.0"
VIAddVersionKey /LANG=0 "ProductName" "${APP}"
VIAddVersionKey /LANG=0 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "FileDescription" "${APP} ${VERSION} setup"
VIAddVersionKey /LANG=0 "CompanyName" "The PayDesk developers"
VIAddVersionKey /LANG=0 "LegalCopyright" "MIT licence, (c) The PayDesk developers"

!define MUI_ICON "${ROOT}\assets\paydesk.ico"
!define MUI_UNICON "${ROOT}\assets\paydesk.ico"
!define MUI_ABORTWARNING
!define MUI_FINISHPAGE_RUN "$INSTDIR\paydesk.exe"
; Remember the language chosen at install time for the uninstaller.
!define MUI_LANGDLL_REGISTRY_ROOT HKLM
!define MUI_LANGDLL_REGISTRY_KEY "Software\${APP}"
!define MUI_LANGDLL_REGISTRY_VALUENAME "Language"

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_LICENSE "${STAGE}/LICENSE.txt"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "SimpChinese"
!insertmacro MUI_LANGUAGE "English"

LangString NeedsWin10 ${LANG_SIMPCHINESE} "PayDesk 需要 Windows 10 或更高版本。"
LangString NeedsWin10 ${LANG_ENGLISH} "PayDesk needs Windows 10 or later."
LangString UninstallLink ${LANG_SIMPCHINESE} "卸载 PayDesk"
LangString UninstallLink ${LANG_ENGLISH} "Uninstall PayDesk"

Function .onInit
  ; Rust's standard library needs Windows 10 (build 10240) or later.
  ${IfNot} ${AtLeastBuild} 10240
    MessageBox MB_ICONSTOP|MB_OK "$(NeedsWin10)" /SD IDOK
    Abort
  ${EndIf}
  !insertmacro MUI_LANGDLL_DISPLAY
FunctionEnd

Section "PayDesk" SecMain
  SectionIn RO
  ; Shortcuts for every user of the machine, like the program files.
  SetShellVarContext all
  SetOutPath "$INSTDIR"
  File "${STAGE}/paydesk.exe"
  File "${STAGE}/LICENSE.txt"
  File "${STAGE}/OFL-NotoSansCJK.txt"
  File "${STAGE}/README.md"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateDirectory "$SMPROGRAMS\${APP}"
  CreateShortCut "$SMPROGRAMS\${APP}\${APP}.lnk" "$INSTDIR\paydesk.exe" "" "$INSTDIR\paydesk.exe" 0
  CreateShortCut "$SMPROGRAMS\${APP}\$(UninstallLink).lnk" "$INSTDIR\uninstall.exe"
  CreateShortCut "$DESKTOP\${APP}.lnk" "$INSTDIR\paydesk.exe" "" "$INSTDIR\paydesk.exe" 0

  WriteRegStr HKLM "Software\${APP}" "InstallDir" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayName" "${APP}"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayIcon" "$INSTDIR\paydesk.exe,0"
  WriteRegStr HKLM "${UNINSTKEY}" "Publisher" "The PayDesk developers"
  WriteRegStr HKLM "${UNINSTKEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTKEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINSTKEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINSTKEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTKEY}" "NoRepair" 1
  ; In KB, for Add/Remove Programs.
  SectionGetSize ${SecMain} $0
  WriteRegDWORD HKLM "${UNINSTKEY}" "EstimatedSize" $0
SectionEnd

Function un.onInit
  !insertmacro MUI_UNGETLANGUAGE
FunctionEnd

Section "Uninstall"
  SetShellVarContext all
  Delete "$DESKTOP\${APP}.lnk"
  Delete "$SMPROGRAMS\${APP}\*.lnk"
  RMDir "$SMPROGRAMS\${APP}"
  Delete "$INSTDIR\paydesk.exe"
  Delete "$INSTDIR\LICENSE.txt"
  Delete "$INSTDIR\OFL-NotoSansCJK.txt"
  Delete "$INSTDIR\README.md"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKLM "${UNINSTKEY}"
  DeleteRegKey HKLM "Software\${APP}"
  ; %APPDATA%\paydesk (the ledger: the shop's records) is kept on purpose.
SectionEnd
