# Sourced by the image and VM builds: mirror prints the Debian mirror this machine's apt
# uses (deb822 or one-line sources), or Debian's own.
mirror() {
  local src
  for src in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    [ -f "$src" ] || continue
    awk '/^URIs:/ {print $2; exit} /^deb / {print $2; exit}' "$src" && return
  done
  echo http://deb.debian.org/debian
}
