#!/usr/bin/env bash
# install.sh — install (or --uninstall) quantlab-collector as a systemd service.
#
#   sudo ./install.sh                         install bin/quantlab-collector (build it: npm run build)
#   sudo ./install.sh --binary ./quantlab-collector-linux-arm64
#   sudo ./install.sh --uninstall             remove binary and unit; keep data, config and user
#   ./install.sh --destdir /tmp/stage         staged install (CI, packaging): no root, no systemd
#   ./install.sh --dry-run                    print every action, change nothing
#
# Installs:
#   <prefix>/bin/quantlab-collector                       (default prefix /usr/local)
#   /etc/systemd/system/quantlab-collector.service        (rendered from deploy/)
#   /etc/systemd/system/quantlab-collector-compact.{service,timer}  (installed disabled)
#   /etc/quantlab-collector/collector.env                 (mode 0600, only if absent)
#   /etc/sysusers.d/quantlab-collector.conf, /etc/tmpfiles.d/quantlab-collector.conf
#   /var/lib/quantlab-collector                           (DATA_DIR, owned by quantlab, 0750)
#   system user and group quantlab                        (not in a --destdir install)
# Idempotent: a second run changes nothing but a binary or unit that differs.

set -euo pipefail

readonly NAME=quantlab-collector
readonly SVC_USER=quantlab
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR

usage() { # the comment block at the top of this file, then the options
  awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
  cat <<EOF

Options:
  --prefix DIR      install the binary to DIR/bin (default /usr/local)
  --destdir DIR     stage everything under DIR (also: DESTDIR env); no user, no chown, no systemctl
  --binary PATH     the binary to install (default: bin/$NAME next to this script)
  --data-dir DIR    data and spool directory (default /var/lib/$NAME)
  --uninstall       remove the binary (the one the installed unit's ExecStart= runs) and the
                    unit; keep data, the system user, and the env file unless it is still
                    the untouched example
  --dry-run         print every action and change nothing
  -h, --help        this help
EOF
}

die() {
  echo "install.sh: $*" >&2
  exit 1
}

prefix=/usr/local
prefix_given=0
datadir_given=0
destdir="${DESTDIR:-}"
binary=""
datadir=/var/lib/$NAME
uninstall=0
dryrun=0

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix="$2"; prefix_given=1; shift 2 ;;
    --prefix=*) prefix="${1#*=}"; prefix_given=1; shift ;;
    --destdir) [ $# -ge 2 ] || die "--destdir needs a directory"; destdir="$2"; shift 2 ;;
    --destdir=*) destdir="${1#*=}"; shift ;;
    --binary) [ $# -ge 2 ] || die "--binary needs a path"; binary="$2"; shift 2 ;;
    --binary=*) binary="${1#*=}"; shift ;;
    --data-dir) [ $# -ge 2 ] || die "--data-dir needs a directory"; datadir="$2"; datadir_given=1; shift 2 ;;
    --data-dir=*) datadir="${1#*=}"; datadir_given=1; shift ;;
    --uninstall) uninstall=1; shift ;;
    --dry-run|-n) dryrun=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
done

case "$prefix" in /*) ;; *) die "--prefix must be an absolute path (got $prefix)" ;; esac
case "$datadir" in /*) ;; *) die "--data-dir must be an absolute path (got $datadir)" ;; esac
prefix="${prefix%/}"
datadir="${datadir%/}"
if [ -n "$destdir" ]; then
  case "$destdir" in /*) ;; *) destdir="$(pwd)/$destdir" ;; esac
  destdir="${destdir%/}"
  [ -n "$destdir" ] || die "--destdir / is a real install: omit --destdir instead"
fi

# Paths on the target system (written into the unit) and where they land now (DESTDIR-rooted).
readonly BIN_PATH="$prefix/bin/$NAME"
readonly ETC_DIR=/etc/$NAME
readonly ENV_PATH=$ETC_DIR/collector.env
readonly UNIT_PATH=/etc/systemd/system/$NAME.service
readonly SYSUSERS_PATH=/etc/sysusers.d/$NAME.conf
readonly TMPFILES_PATH=/etc/tmpfiles.d/$NAME.conf
readonly UNIT_TEMPLATE="$SCRIPT_DIR/deploy/$NAME.service"
readonly SYSUSERS_TEMPLATE="$SCRIPT_DIR/deploy/$NAME.sysusers.conf"
readonly TMPFILES_TEMPLATE="$SCRIPT_DIR/deploy/$NAME.tmpfiles.conf"
readonly ENV_TEMPLATE="$SCRIPT_DIR/deploy/collector.env.example"
at() { printf '%s%s' "$destdir" "$1"; }

real=0
[ -z "$destdir" ] && real=1

# --- privileges -----------------------------------------------------------------------------
if [ "$real" -eq 1 ] && [ "$(id -u)" -ne 0 ] && [ "$dryrun" -eq 0 ]; then
  die "a system install needs root: run it with sudo (or stage it with --destdir DIR, or preview with --dry-run)"
fi

# --- helpers --------------------------------------------------------------------------------
say() { echo "$*"; }
act() { # act DESCRIPTION -- COMMAND...: print, then run unless --dry-run
  local desc="$1"; shift; [ "$1" = "--" ] && shift
  if [ "$dryrun" -eq 1 ]; then say "[dry-run] $desc"; else say "$desc"; "$@"; fi
}
have() { command -v "$1" >/dev/null 2>&1; }
systemd_running() { [ "$real" -eq 1 ] && have systemctl && [ -d /run/systemd/system ]; }

# install_file SRC DEST MODE: atomic replace (a running binary is never written in place).
install_file() { # install_file SRC DEST MODE [WHAT-SRC-IS]
  local src="$1" dest="$2" mode="$3" from="${4:-$1}" tmp
  if [ -f "$dest" ] && cmp -s "$src" "$dest" && [ "$(stat -c %a "$dest")" = "$mode" ]; then
    say "unchanged: $dest"
    return 0
  fi
  local verb=install; [ -e "$dest" ] && verb=replace
  if [ "$dryrun" -eq 1 ]; then say "[dry-run] $verb $dest (mode $mode) from $from"; return 0; fi
  say "$verb $dest (mode $mode)"
  tmp="$(dirname "$dest")/.$(basename "$dest").new.$$"
  cp "$src" "$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$dest"
}

ensure_dir() { # ensure_dir PATH MODE [OWNER]
  local dir="$1" mode="$2" owner="${3:-}"
  if [ -d "$dir" ]; then
    say "exists: $dir"
  else
    act "create directory $dir (mode $mode)" -- mkdir -p -m "$mode" "$dir"
  fi
  if [ -n "$owner" ]; then
    if [ "$real" -eq 1 ]; then
      if [ ! -d "$dir" ] || [ "$(stat -c %U:%G "$dir")" != "$owner" ]; then act "chown $owner $dir" -- chown "$owner" "$dir"; fi
    else
      say "skip: chown $owner $dir (--destdir install)"
    fi
  fi
}

remove_file() {
  local f="$1"
  if [ -e "$f" ] || [ -L "$f" ]; then act "remove $f" -- rm -f "$f"; else say "absent: $f"; fi
}

render_unit() { # render_unit [TEMPLATE]: the template with this install's binary and data paths
  # StateDirectory= names a directory under /var/lib: kept (relative) for a data dir there, dropped elsewhere.
  local template="${1:-$UNIT_TEMPLATE}" state=""
  case "$datadir" in /var/lib/?*) state="${datadir#/var/lib/}" ;; esac
  if [ -n "$state" ]; then
    sed -e "s#/usr/local/bin/$NAME#$BIN_PATH#g" -e "s#/var/lib/$NAME#$datadir#g" -e "s#^StateDirectory=.*#StateDirectory=$state#" "$template"
  else
    sed -e "s#/usr/local/bin/$NAME#$BIN_PATH#g" -e "s#/var/lib/$NAME#$datadir#g" -e '/^StateDirectory=/d' -e '/^StateDirectoryMode=/d' "$template"
  fi
}

render_data_path() { # render_data_path TEMPLATE: the sysusers/tmpfiles line with this install's data dir
  sed -e "s#/var/lib/$NAME#$datadir#g" "$1"
}
# The daily compaction (docs/compact.md): installed, never enabled by this script.
readonly COMPACT_UNITS="$NAME-compact.service $NAME-compact.timer"

# --- uninstall ------------------------------------------------------------------------------
if [ "$uninstall" -eq 1 ]; then
  if systemd_running; then
    if systemctl is-active --quiet "$NAME" 2>/dev/null; then act "stop $NAME (flushes buffered rows first)" -- systemctl stop "$NAME"; fi
    if systemctl is-enabled --quiet "$NAME" 2>/dev/null; then act "disable $NAME" -- systemctl disable --quiet "$NAME"; fi
  elif [ "$real" -eq 0 ]; then
    say "skip: systemctl stop/disable (--destdir install)"
  fi
  # The binary to remove is the one the installed unit runs (an install with --prefix put it
  # elsewhere); without a unit, --prefix (or the default) says where it is.
  unitf="$(at "$UNIT_PATH")"
  bin_path="$BIN_PATH"
  if [ -f "$unitf" ]; then
    exec_start="$(sed -n 's/^ExecStart=[-@:+!]*//p' "$unitf" | head -n 1)"
    unit_bin="${exec_start%% *}"
    case "$unit_bin" in
      /*/"$NAME") ;;
      *) die "cannot find the installed binary: $unitf has no ExecStart= running an absolute path to $NAME (got '${exec_start}'); nothing removed: remove the binary and the unit yourself" ;;
    esac
    if [ "$prefix_given" -eq 1 ] && [ "$unit_bin" != "$BIN_PATH" ]; then
      say "note: the installed unit runs $unit_bin, not $BIN_PATH (--prefix): removing the unit's binary"
    fi
    bin_path="$unit_bin"
    if [ "$datadir_given" -eq 0 ]; then
      unit_data="$(sed -n 's/^ReadWritePaths=//p' "$unitf" | head -n 1)"
      case "$unit_data" in /*) datadir="$unit_data" ;; esac
    fi
  elif [ "$prefix_given" -eq 0 ] && [ ! -e "$(at "$BIN_PATH")" ]; then
    say "note: no unit at $unitf to read the installed binary's path from; if it was installed with --prefix DIR, run again with --prefix DIR"
  fi
  remove_file "$unitf"
  remove_file "$(at "$bin_path")"
  remove_file "$(at "$SYSUSERS_PATH")"
  remove_file "$(at "$TMPFILES_PATH")"
  for u in $COMPACT_UNITS; do
    if systemd_running && systemctl is-enabled --quiet "$u" 2>/dev/null; then act "disable $u" -- systemctl disable --now --quiet "$u"; fi
    remove_file "$(at "/etc/systemd/system/$u")"
  done
  envf="$(at "$ENV_PATH")"
  if [ -f "$envf" ] && [ -f "$ENV_TEMPLATE" ] && cmp -s "$envf" "$ENV_TEMPLATE"; then
    remove_file "$envf"
    if [ -d "$(at "$ETC_DIR")" ] && [ -z "$(ls -A "$(at "$ETC_DIR")")" ]; then act "remove directory $(at "$ETC_DIR")" -- rmdir "$(at "$ETC_DIR")"; fi
  elif [ -f "$envf" ]; then
    say "kept: $envf (edited by the operator; delete it yourself if it is no longer needed)"
  fi
  if systemd_running; then act "systemctl daemon-reload" -- systemctl daemon-reload; fi
  say "kept: $(at "$datadir") (recorded data is never deleted by this script)"
  if [ "$real" -eq 1 ] && getent passwd "$SVC_USER" >/dev/null 2>&1; then
    say "kept: system user $SVC_USER (owns the data; remove with: userdel $SVC_USER)"
  fi
  say "uninstalled $NAME"
  exit 0
fi

# --- install --------------------------------------------------------------------------------
if [ -z "$binary" ]; then
  binary="$SCRIPT_DIR/bin/$NAME"
  [ -f "$binary" ] || [ ! -f "$SCRIPT_DIR/$NAME" ] || binary="$SCRIPT_DIR/$NAME"
fi
[ -f "$binary" ] || die "binary not found: $binary (build it with 'npm run build', or pass --binary PATH)"
case "$binary" in /*) ;; *) binary="$(pwd)/$binary" ;; esac
[ -f "$UNIT_TEMPLATE" ] || die "unit template not found: $UNIT_TEMPLATE"
[ -f "$ENV_TEMPLATE" ] || die "env example not found: $ENV_TEMPLATE"
case "$(head -c 4 "$binary" | od -An -c | tr -d ' ')" in
  177ELF) ;;
  *) die "not an executable (ELF) file: $binary — pass the compiled binary, not bin/$NAME.ts" ;;
esac
version="$("$binary" --version 2>/dev/null || true)"
say "installing ${version:-$binary (other architecture: version not checked)}${destdir:+ under $destdir}"

if [ "$real" -eq 1 ] && [ "$dryrun" -eq 1 ] && [ "$(id -u)" -ne 0 ]; then
  say "note: not root; a real run needs sudo"
fi

# 1. system user (its home is the data dir; no login shell)
if [ "$real" -eq 1 ]; then
  if getent passwd "$SVC_USER" >/dev/null 2>&1; then
    say "exists: system user $SVC_USER"
  else
    nologin=/usr/sbin/nologin; [ -x "$nologin" ] || nologin=/sbin/nologin; [ -x "$nologin" ] || nologin=/bin/false
    have useradd || die "useradd not found: create the system user '$SVC_USER' yourself and re-run"
    act "create system user $SVC_USER (home $datadir, shell $nologin)" -- \
      useradd --system --user-group --home-dir "$datadir" --no-create-home --shell "$nologin" \
      --comment "QuantLab Collector" "$SVC_USER"
  fi
else
  say "skip: create system user $SVC_USER (--destdir install)"
fi

# 2. binary
ensure_dir "$(at "$prefix/bin")" 0755
install_file "$binary" "$(at "$BIN_PATH")" 755

# 3. configuration: never overwrite an operator's file
ensure_dir "$(at "$ETC_DIR")" 0755
if [ -e "$(at "$ENV_PATH")" ]; then
  say "kept: $(at "$ENV_PATH") (exists; never overwritten — compare with $ENV_TEMPLATE after upgrades)"
else
  act "install $(at "$ENV_PATH") (mode 600) from $ENV_TEMPLATE" -- install -m 0600 "$ENV_TEMPLATE" "$(at "$ENV_PATH")"
fi

# 4. data + spool directory, owned by the service user
ensure_dir "$(at "$datadir")" 0750 "$SVC_USER:$SVC_USER"

# 5. sysusers.d and tmpfiles.d: the user and the data directory, declared for systemd (a staged
#    install or image gets them at boot; here they were just created the classic way)
for pair in "$SYSUSERS_TEMPLATE:$SYSUSERS_PATH" "$TMPFILES_TEMPLATE:$TMPFILES_PATH"; do
  tpl="${pair%%:*}" dest="${pair#*:}"
  [ -f "$tpl" ] || die "template not found: $tpl"
  ensure_dir "$(at "$(dirname "$dest")")" 0755
  decl_tmp="$(mktemp)"
  render_data_path "$tpl" >"$decl_tmp"
  install_file "$decl_tmp" "$(at "$dest")" 644 "$tpl"
  rm -f "$decl_tmp"
done

# 6. unit
ensure_dir "$(at /etc/systemd/system)" 0755
unit_tmp="$(mktemp)"
trap 'rm -f "$unit_tmp"' EXIT
render_unit >"$unit_tmp"
install_file "$unit_tmp" "$(at "$UNIT_PATH")" 644 "$UNIT_TEMPLATE (ExecStart=$BIN_PATH, DATA_DIR=$datadir)"
for u in $COMPACT_UNITS; do
  render_unit "$SCRIPT_DIR/deploy/$u" >"$unit_tmp"
  install_file "$unit_tmp" "$(at "/etc/systemd/system/$u")" 644 "deploy/$u (disabled; enable: systemctl enable --now $NAME-compact.timer)"
done

# 7. systemd
if systemd_running; then
  act "systemctl daemon-reload" -- systemctl daemon-reload
  if systemctl is-active --quiet "$NAME" 2>/dev/null; then
    say "note: $NAME is running the previous binary until: sudo systemctl restart $NAME"
  fi
elif [ "$real" -eq 1 ]; then
  say "skip: systemctl daemon-reload (systemd is not running on this host)"
else
  say "skip: systemctl daemon-reload (--destdir install)"
fi

if [ "$dryrun" -eq 1 ]; then
  say "dry run: nothing was changed"
else
  say "installed $NAME"
  if [ "$real" -eq 1 ]; then
    say "next: edit $ENV_PATH, then: sudo systemctl enable --now $NAME; journalctl -u $NAME -f"
  fi
fi
