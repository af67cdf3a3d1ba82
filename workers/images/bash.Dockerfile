# Sandbox image of the bash language: the base has bash (and coreutils) already.
# Built by build.sh, offline or not: FROM an image of build.sh's list, packages from
# the Debian mirror of that image's /etc/apt.
FROM graderq/base:bookworm
LABEL org.graderq.language=bash
