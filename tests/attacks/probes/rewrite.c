/* Rewrite one file of SIZE bytes with O_DIRECT writes of BLOCK bytes, fsync'd every
   64 writes, until killed; print "seconds bytes writes" every EVERY writes. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    long block = atol(argv[1]), size = atol(argv[2]), every = atol(argv[3]);
    void *buffer;
    if (posix_memalign(&buffer, 4096, block)) return 3;
    memset(buffer, 'x', block);
    int fd = open("/sandbox/data", O_WRONLY | O_CREAT | O_DIRECT, 0644);
    if (fd < 0) { perror("open"); return 4; }
    double started = now();
    long long written = 0, writes = 0;
    for (;;) {
        if (pwrite(fd, buffer, block, written % size) != block) { perror("pwrite"); return 5; }
        written += block;
        writes++;
        if (writes % 64 == 0) fsync(fd);
        if (writes % every == 0) {
            printf("%.3f %lld %lld\n", now() - started, written, writes);
            fflush(stdout);
        }
    }
}
