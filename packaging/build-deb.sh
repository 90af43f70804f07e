#!/usr/bin/env bash
# build-deb.sh: builds dist/mailwarden_VERSION_ARCH.deb (run by `make deb`).
#
# The version is the top entry of packaging/debian/changelog, nowhere else. The binaries are a
# release build with the Swift runtime linked in statically (a Debian server has no toolchain),
# in their own scratch path (.build-deb) so the debug build of `make build` is left alone. The
# package tree is laid out the way debhelper would (debian/mailwarden under a staging dir that
# also holds debian/control, because dpkg-shlibdeps and dpkg-gencontrol want one in the cwd),
# then packed with `dpkg-deb --root-owner-group`: no fakeroot, every file root:root.
# Prints the path of the .deb on the last line. Environment: SWIFT (default swift).
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022

SWIFT=${SWIFT:-swift}
DEB_SRC=packaging/debian
SCRATCH=.build-deb
STAGE=$SCRATCH/stage
PKG=mailwarden
ROOT=$STAGE/debian/$PKG

VERSION=$(dpkg-parsechangelog -l "$DEB_SRC/changelog" -S Version)
ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)
# Reproducible file times and man page dates: the changelog entry's time.
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l "$DEB_SRC/changelog" -S Timestamp)
export SOURCE_DATE_EPOCH
DATE=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
DEB=dist/${PKG}_${VERSION}_${ARCH}.deb

# --disable-local-rpath: no $ORIGIN RUNPATH in installed binaries (lintian: custom-library-search-path).
# -z now: full RELRO, as dpkg-buildflags gives C daemons (lintian: hardening-no-bindnow).
build=("$SWIFT" build -c release --static-swift-stdlib --disable-local-rpath --scratch-path "$SCRATCH"
    -Xlinker -z -Xlinker relro -Xlinker -z -Xlinker now)
"${build[@]}"
BIN=$("${build[@]}" --show-bin-path)

rm -rf "$STAGE"
mkdir -p "$ROOT/DEBIAN" dist

# Binaries, stripped as dh_strip does.
install -D -m 0755 "$BIN/mailwardend" "$ROOT/usr/sbin/mailwardend"
install -D -m 0755 "$BIN/mailwarden" "$ROOT/usr/bin/mailwarden"
strip --remove-section=.comment --remove-section=.note --strip-unneeded \
    "$ROOT/usr/sbin/mailwardend" "$ROOT/usr/bin/mailwarden"

# The commented example config (rendered from the settings table) is the conffile.
install -D -m 0644 packaging/mailwarden.conf "$ROOT/etc/mailwarden/mailwarden.conf"
install -D -m 0644 systemd/mailwardend.service "$ROOT/lib/systemd/system/mailwardend.service"
install -D -m 0644 systemd/mailwarden-desk.service "$ROOT/lib/systemd/system/mailwarden-desk.service"
# The milter socket's directory in Postfix's queue directory (the shipped config's socket).
install -D -m 0644 packaging/examples/mailwarden-tmpfiles.conf "$ROOT/usr/lib/tmpfiles.d/mailwarden.conf"
# The store's directory; postinst gives it to the mailwarden user.
install -d -m 0750 "$ROOT/var/lib/mailwarden"

doc=$ROOT/usr/share/doc/$PKG
install -D -m 0644 README.md "$doc/README.md"
install -m 0644 "$DEB_SRC/copyright" "$doc/copyright"
gzip -9n <"$DEB_SRC/changelog" >"$doc/changelog.Debian.gz"
# The Postfix and Sendmail recipes, as the README shows them.
install -d "$doc/examples"
install -m 0644 packaging/examples/* "$doc/examples/"
chmod 0644 "$doc/changelog.Debian.gz"

install -d "$ROOT/usr/share/man/man8"
for page in packaging/man/*.8; do
    sed -e "s/@VERSION@/$VERSION/g" -e "s/@DATE@/$DATE/g" "$page" |
        gzip -9n >"$ROOT/usr/share/man/man8/$(basename "$page").gz"
done
chmod 0644 "$ROOT"/usr/share/man/man8/*.gz

if [ -f "$DEB_SRC/lintian-overrides" ]; then
    install -D -m 0644 "$DEB_SRC/lintian-overrides" "$ROOT/usr/share/lintian/overrides/$PKG"
fi

# Control area: maintainer scripts and conffiles as written; control computed.
install -m 0644 "$DEB_SRC/conffiles" "$ROOT/DEBIAN/conffiles"
for script in postinst prerm postrm; do
    install -m 0755 "$DEB_SRC/$script" "$ROOT/DEBIAN/$script"
done
cp "$DEB_SRC/control" "$DEB_SRC/changelog" "$STAGE/debian/"
(
    cd "$STAGE"
    echo "misc:Depends=" >"debian/$PKG.substvars"
    dpkg-shlibdeps -T"debian/$PKG.substvars" "debian/$PKG/usr/sbin/mailwardend" "debian/$PKG/usr/bin/mailwarden"
    dpkg-gencontrol -p"$PKG" -ldebian/changelog -cdebian/control -T"debian/$PKG.substvars" -P"debian/$PKG"
)
# md5sums of everything but the conffiles (dpkg keeps those itself), as dh_md5sums.
(
    cd "$ROOT"
    find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum
) >"$ROOT/DEBIAN/md5sums"
chmod 0644 "$ROOT/DEBIAN/md5sums"

find "$ROOT" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
rm -f "$DEB"
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$DEB" >/dev/null
echo "built $DEB ($(du -h "$DEB" | cut -f1), Depends: $(dpkg-deb -f "$DEB" Depends))"
echo "$DEB"
