# Sandbox image of the kotlin language: Debian's kotlinc on the java image's JDK.
# Built by build.sh, offline or not: FROM an image of build.sh's list, packages from
# the Debian mirror of that image's /etc/apt.
FROM graderq/java:17
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        kotlin \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb
