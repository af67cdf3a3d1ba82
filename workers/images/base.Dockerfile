# graderq/base:bookworm, the base of every sandbox image, for hosts that reach a registry.
# The offline builder (build.sh) makes the same tag with debootstrap from the Debian mirror.
FROM debian:bookworm-slim
RUN groupadd -g 1000 sandbox && useradd -u 1000 -g 1000 -M -d /sandbox -s /bin/sh sandbox \
    && mkdir -m 0777 /sandbox
ENV HOME=/sandbox
WORKDIR /sandbox
