# Sandbox image for the `python` profile, for hosts that reach a registry.
# The offline builder (build.sh) makes the same tag from the Debian mirror.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends python3-minimal \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd -g 1000 sandbox && useradd -u 1000 -g 1000 -M -d /sandbox -s /bin/sh sandbox \
    && mkdir -m 0777 /sandbox
WORKDIR /sandbox
