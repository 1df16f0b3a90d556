/*
 * latencyshim: an LD_PRELOAD library that makes every metadata call under some folders cost
 * one network round trip, the way an NFS client pays for a cold LOOKUP/GETATTR/READDIR.
 *
 *   LD_PRELOAD=latencyshim.so LATENCY_US=1000 LATENCY_PREFIXES=/srv/a:/srv/b  <command>
 *
 * The sleep happens in the calling thread, so calls from different threads overlap as they
 * do on a real NFS mount (the Linux client keeps up to 65,536 RPCs in flight per connection).
 * That is what latencyfs (the FUSE emulator) cannot show: this kernel's FUSE answers lookups
 * in one folder one at a time and serves only a few thousand requests a second in all.
 *
 * Charged (one round trip each): stat/lstat/fstatat of a path, open/openat of a path, and the
 * READDIR of a listing (opendir: open + READDIR = two; fdopendir of an fd opened under a
 * prefix: one). Not charged: fstat of an open fd (served from the attribute cache after the
 * open), read/write (data, not metadata), anything outside the prefixes (the state file,
 * the database socket, Python's own modules).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_PREFIXES 16

static char *prefixes[MAX_PREFIXES];
static size_t lengths[MAX_PREFIXES];
static int n_prefixes;
static struct timespec delay;
static int enabled;

__attribute__((constructor)) static void init(void) {
    const char *us = getenv("LATENCY_US"), *list = getenv("LATENCY_PREFIXES");
    if (!us || !list || !*list)
        return;
    long micros = atol(us);
    delay.tv_sec = micros / 1000000;
    delay.tv_nsec = (micros % 1000000) * 1000;
    char *copy = strdup(list), *save = NULL;
    for (char *p = strtok_r(copy, ":", &save); p && n_prefixes < MAX_PREFIXES; p = strtok_r(NULL, ":", &save)) {
        size_t n = strlen(p);
        while (n > 1 && p[n - 1] == '/')
            p[--n] = 0;
        prefixes[n_prefixes] = p;
        lengths[n_prefixes++] = n;
    }
    enabled = micros > 0 && n_prefixes > 0;
}

static int under(const char *path) {
    if (!path)
        return 0;
    for (int i = 0; i < n_prefixes; i++)
        if (strncmp(path, prefixes[i], lengths[i]) == 0 && (path[lengths[i]] == '/' || path[lengths[i]] == 0))
            return 1;
    return 0;
}

static int fd_under(int fd) {
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 0)
        return 0;
    target[n] = 0;
    return under(target);
}

static int at_under(int dirfd, const char *path) {
    if (!path)
        return 0;
    if (path[0] == '/')
        return under(path);
    if (dirfd == AT_FDCWD) {
        char cwd[4096];
        return getcwd(cwd, sizeof cwd) && under(cwd);
    }
    return path[0] ? fd_under(dirfd) : 0; /* "" with AT_EMPTY_PATH is an fstat */
}

static void round_trip(void) {
    int saved = errno;
    struct timespec left = delay;
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
    errno = saved;
}

#define REAL(name) static __typeof__(name) *real_##name; if (!real_##name) real_##name = dlsym(RTLD_NEXT, #name)

int stat64(const char *path, struct stat64 *st) {
    REAL(stat64);
    if (enabled && under(path)) round_trip();
    return real_stat64(path, st);
}
int stat(const char *path, struct stat *st) {
    REAL(stat);
    if (enabled && under(path)) round_trip();
    return real_stat(path, st);
}
int lstat64(const char *path, struct stat64 *st) {
    REAL(lstat64);
    if (enabled && under(path)) round_trip();
    return real_lstat64(path, st);
}
int lstat(const char *path, struct stat *st) {
    REAL(lstat);
    if (enabled && under(path)) round_trip();
    return real_lstat(path, st);
}
int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags) {
    REAL(fstatat64);
    if (enabled && at_under(dirfd, path)) round_trip();
    return real_fstatat64(dirfd, path, st, flags);
}
int fstatat(int dirfd, const char *path, struct stat *st, int flags) {
    REAL(fstatat);
    if (enabled && at_under(dirfd, path)) round_trip();
    return real_fstatat(dirfd, path, st, flags);
}

static mode_t mode_of(int flags, va_list ap) {
    return (flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

int open64(const char *path, int flags, ...) {
    REAL(open64);
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_of(flags, ap);
    va_end(ap);
    if (enabled && under(path)) round_trip();
    return real_open64(path, flags, mode);
}
int open(const char *path, int flags, ...) {
    REAL(open);
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_of(flags, ap);
    va_end(ap);
    if (enabled && under(path)) round_trip();
    return real_open(path, flags, mode);
}
int openat64(int dirfd, const char *path, int flags, ...) {
    REAL(openat64);
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_of(flags, ap);
    va_end(ap);
    if (enabled && at_under(dirfd, path)) round_trip();
    return real_openat64(dirfd, path, flags, mode);
}
int openat(int dirfd, const char *path, int flags, ...) {
    REAL(openat);
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_of(flags, ap);
    va_end(ap);
    if (enabled && at_under(dirfd, path)) round_trip();
    return real_openat(dirfd, path, flags, mode);
}

DIR *opendir(const char *path) {
    REAL(opendir);
    if (enabled && under(path)) {
        round_trip(); /* the open */
        round_trip(); /* the READDIR */
    }
    return real_opendir(path);
}
DIR *fdopendir(int fd) {
    REAL(fdopendir);
    if (enabled && fd_under(fd)) round_trip(); /* the READDIR; the open was charged already */
    return real_fdopendir(fd);
}
