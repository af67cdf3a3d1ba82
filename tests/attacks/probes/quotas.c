/* Per-user kernel quotas: take them all, or try to get one of each.

   quotas take READY DONE: use up inotify instances, POSIX message queues (their bytes,
   RLIMIT_MSGQUEUE) and pending signals (RLIMIT_SIGPENDING), print how many of each were
   had and the error that ended it, create the file READY, and hold everything until the
   file DONE appears (at most 20 s).
   quotas get: try for one inotify instance, one message queue, one queued signal and one
   POSIX timer (it needs a pending-signal slot); print "NAME ok" or "NAME ERRNO".
   Output: "key value" lines. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *name_of(int error) {
    switch (error) {
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case ENOSPC: return "ENOSPC";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOSYS: return "ENOSYS";
    default: return strerror(error);
    }
}

static void block_rt(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &set, NULL);
}

static int queue_signal(void) {
    union sigval value = {.sival_int = 1};
    return sigqueue(getpid(), SIGRTMIN, value);
}

static int take(const char *ready, const char *done) {
    int inotify = 0, queues = 0;
    long signals = 0;
    char name[64];
    while (inotify < 100000 && inotify_init1(IN_CLOEXEC) >= 0)
        inotify++;
    printf("inotify %d %s\n", inotify, name_of(errno));
    for (;;) {
        snprintf(name, sizeof name, "/graderq-%d-%d", getpid(), queues);
        if (queues >= 10000 || mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, NULL) < 0)
            break;
        queues++;
    }
    printf("mqueue %d %s\n", queues, name_of(errno));
    block_rt();
    while (signals < 10000000 && queue_signal() == 0)
        signals++;
    printf("signals %ld %s\n", signals, name_of(errno));
    fflush(stdout);
    close(open(ready, O_CREAT | O_WRONLY, 0666));
    for (int i = 0; i < 400 && access(done, F_OK) != 0; i++)
        usleep(50000);
    for (int i = 0; i < queues; i++) {
        snprintf(name, sizeof name, "/graderq-%d-%d", getpid(), i);
        mq_unlink(name);
    }
    return 0;
}

static void report(const char *what, int failed) {
    printf("%s %s\n", what, failed ? name_of(errno) : "ok");
}

static int get(void) {
    report("inotify", inotify_init1(IN_CLOEXEC) < 0);
    char name[64];
    snprintf(name, sizeof name, "/graderq-get-%d", getpid());
    mqd_t queue = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, NULL);
    report("mqueue", queue == (mqd_t)-1);
    if (queue != (mqd_t)-1)
        mq_unlink(name);
    block_rt();
    report("signal", queue_signal() != 0);
    struct sigevent event = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN};
    timer_t timer;
    report("timer", timer_create(CLOCK_MONOTONIC, &event, &timer) != 0);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "take") == 0)
        return take(argv[2], argv[3]);
    if (argc == 2 && strcmp(argv[1], "get") == 0)
        return get();
    fprintf(stderr, "usage: quotas take READY DONE | quotas get\n");
    return 2;
}
