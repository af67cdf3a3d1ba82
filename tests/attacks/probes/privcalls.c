/* Try privileged system calls and writes; print "name ok" or "name ERRNO" per attempt.
 * Every attempt is harmless even if the kernel allowed it (e.g. reboot is CAD_OFF,
 * clock_settime sets the time it already is). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/reboot.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void report(const char *name, long ret) {
    printf("%s %s\n", name, ret >= 0 ? "ok" : strerrorname_np(errno));
}

static long write_file(const char *path, const char *data) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    long written = write(fd, data, strlen(data));
    close(fd);
    return written;
}

int main(void) {
    char handle[64] = {0}, attr[128] = {0};
    struct timespec now;
    int status;
    mkdir("/sandbox/m", 0777);
    report("unshare_user", unshare(CLONE_NEWUSER));
    report("unshare_mount", unshare(CLONE_NEWNS));
    report("unshare_net", unshare(CLONE_NEWNET));
    report("mount", syscall(SYS_mount, "none", "/sandbox/m", "tmpfs", 0, NULL));
    report("chroot", chroot("/sandbox"));
    report("pivot_root", syscall(SYS_pivot_root, "/sandbox", "/sandbox/m"));
    report("setuid", setuid(getuid() ? 0 : 4242));
    report("mknod", mknod("/sandbox/mem", S_IFCHR | 0600, makedev(1, 1)));
    report("reboot", syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
                             LINUX_REBOOT_CMD_CAD_OFF, NULL));
    report("init_module", syscall(SYS_init_module, NULL, 0, ""));
    report("finit_module", syscall(SYS_finit_module, -1, "", 0));
    report("delete_module", syscall(SYS_delete_module, "graderq_no_such_module", 0));
    report("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
    report("keyctl", syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0));
    report("add_key", syscall(SYS_add_key, "user", "graderq", "x", 1, -3));
    report("bpf", syscall(SYS_bpf, 0, NULL, 0));
    report("perf_event_open", syscall(SYS_perf_event_open, attr, 0, -1, -1, 0));
    report("open_by_handle_at", syscall(SYS_open_by_handle_at, open("/", O_RDONLY), handle, 0));
    report("userfaultfd", syscall(SYS_userfaultfd, 0));
    report("swapon", syscall(SYS_swapon, "/sandbox/no-such-swap", 0));
    report("iopl", syscall(SYS_iopl, 3));
    report("sethostname", sethostname("pwned", 5));
    report("acct", syscall(SYS_acct, "/sandbox/acct"));
    clock_gettime(CLOCK_REALTIME, &now);
    report("clock_settime", clock_settime(CLOCK_REALTIME, &now));
    report("raw_socket", socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
    report("packet_socket", socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)));
    report("sysrq_trigger", write_file("/proc/sysrq-trigger", "h"));
    report("sysctl_write", write_file("/proc/sys/kernel/hostname", "pwned"));
    report("cgroup_pids_max", write_file("/sys/fs/cgroup/pids/pids.max", "max"));
    report("cgroup_memory_limit",
           write_file("/sys/fs/cgroup/memory/memory.limit_in_bytes", "-1"));
    /* Tracing a process of the same user inside the sandbox is ordinary (debuggers);
     * nothing outside the sandbox is visible to trace. Detach at once. */
    long traced = ptrace(PTRACE_ATTACH, 1, NULL, NULL);
    report("ptrace_own_pid1", traced);
    if (traced == 0) {
        waitpid(1, &status, __WALL);
        ptrace(PTRACE_DETACH, 1, NULL, NULL);
    }
    return 0;
}
