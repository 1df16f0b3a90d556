/*
 * latencyfs: a read-only FUSE pass-through that sleeps a fixed time in every request, to run
 * the benchmarks on "network storage" where each metadata operation is a round trip. Many
 * requests are served at once (up to MAX_THREADS), as an NFS server would.
 *
 *   LATENCY_US=1000 MAX_THREADS=512 SOURCE=/real/tree ./latencyfs /mnt/point -f -o ro
 *
 * Written against the low-level API: the high-level one of libfuse 3.14 served lookups in one
 * folder one at a time and ran about ten requests at once, whatever the client asked, which
 * no NFS server does. Entries and attributes are cached by the kernel for CACHE_S seconds
 * (default 3, like NFS's acregmin); the benchmark remounts between runs so each starts cold.
 * Nodes are never freed: this serves one benchmark run.
 *
 * Fault injection for the tests (comma-separated file names, matched in any folder):
 *   EIO_NAMES=a,b    a lookup of these names fails with EIO (a bad disk block, an NFS I/O error)
 *   HANG_NAMES=c     a lookup of these names does not answer for HANG_S seconds (default 600),
 *                    as a stat on an NFS server that went away
 */
#define FUSE_USE_VERSION 312
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct node {
    char *path;
};

static struct node root_node;
static long latency_ns;
static double cache_s = 3.0;
static const char *eio_names, *hang_names;
static unsigned hang_s = 600;

/* Is name one of the comma-separated names in list? */
static int listed(const char *list, const char *name) {
    if (!list) return 0;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return 1;
        if (!end) break;
        p = end + 1;
    }
    return 0;
}

static void delay(void) {
    if (latency_ns > 0) {
        struct timespec ts = {latency_ns / 1000000000L, latency_ns % 1000000000L};
        while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
        }
    }
}

static struct node *node_of(fuse_ino_t ino) {
    return ino == FUSE_ROOT_ID ? &root_node : (struct node *)(uintptr_t)ino;
}

static void lf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
    struct node *p = node_of(parent);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", p->path, name);
    delay();
    if (listed(eio_names, name)) {
        fuse_reply_err(req, EIO);
        return;
    }
    if (listed(hang_names, name)) {
        sleep(hang_s);
    }
    struct fuse_entry_param e;
    memset(&e, 0, sizeof(e));
    if (lstat(path, &e.attr) == -1) {
        fuse_reply_err(req, errno);
        return;
    }
    struct node *n = malloc(sizeof(*n));
    n->path = strdup(path);
    e.ino = (fuse_ino_t)(uintptr_t)n;
    e.attr_timeout = cache_s;
    e.entry_timeout = cache_s;
    fuse_reply_entry(req, &e);
}

static void lf_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
    (void)ino; (void)nlookup;
    fuse_reply_none(req);
}

static void lf_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void)fi;
    struct stat st;
    delay();
    if (lstat(node_of(ino)->path, &st) == -1) {
        fuse_reply_err(req, errno);
        return;
    }
    fuse_reply_attr(req, &st, cache_s);
}

static void lf_readlink(fuse_req_t req, fuse_ino_t ino) {
    char buf[PATH_MAX];
    delay();
    ssize_t n = readlink(node_of(ino)->path, buf, sizeof(buf) - 1);
    if (n == -1) {
        fuse_reply_err(req, errno);
        return;
    }
    buf[n] = '\0';
    fuse_reply_readlink(req, buf);
}

static void lf_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    delay();
    DIR *d = opendir(node_of(ino)->path);
    if (!d) {
        fuse_reply_err(req, errno);
        return;
    }
    fi->fh = (uint64_t)(uintptr_t)d;
    fuse_reply_open(req, fi);
}

static void lf_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)ino;
    DIR *d = (DIR *)(uintptr_t)fi->fh;
    char *buf = malloc(size);
    size_t used = 0;
    delay();
    seekdir(d, off);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        memset(&st, 0, sizeof(st));
        st.st_ino = e->d_ino;
        st.st_mode = (mode_t)DTTOIF(e->d_type);
        size_t need = fuse_add_direntry(req, buf + used, size - used, e->d_name, &st, telldir(d));
        if (need > size - used) break;
        used += need;
    }
    fuse_reply_buf(req, buf, used);
    free(buf);
}

static void lf_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void)ino;
    closedir((DIR *)(uintptr_t)fi->fh);
    fuse_reply_err(req, 0);
}

static void lf_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    if ((fi->flags & O_ACCMODE) != O_RDONLY) {
        fuse_reply_err(req, EROFS);
        return;
    }
    delay();
    int fd = open(node_of(ino)->path, O_RDONLY);
    if (fd == -1) {
        fuse_reply_err(req, errno);
        return;
    }
    fi->fh = (uint64_t)fd;
    fuse_reply_open(req, fi);
}

static void lf_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)ino;
    char *buf = malloc(size);
    delay();
    ssize_t n = pread((int)fi->fh, buf, size, off);
    if (n == -1)
        fuse_reply_err(req, errno);
    else
        fuse_reply_buf(req, buf, (size_t)n);
    free(buf);
}

static void lf_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void)ino;
    close((int)fi->fh);
    fuse_reply_err(req, 0);
}

static void lf_init(void *userdata, struct fuse_conn_info *conn) {
    (void)userdata;
    /* An NFS client looks names up in one folder concurrently. */
    if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
}

static const struct fuse_lowlevel_ops ops = {
    .init = lf_init,
    .lookup = lf_lookup,
    .forget = lf_forget,
    .getattr = lf_getattr,
    .readlink = lf_readlink,
    .opendir = lf_opendir,
    .readdir = lf_readdir,
    .releasedir = lf_releasedir,
    .open = lf_open,
    .read = lf_read,
    .release = lf_release,
};

int main(int argc, char *argv[]) {
    const char *source = getenv("SOURCE");
    if (!source) {
        fprintf(stderr, "latencyfs: set SOURCE to the folder to pass through\n");
        return 2;
    }
    root_node.path = strdup(source);
    latency_ns = getenv("LATENCY_US") ? atol(getenv("LATENCY_US")) * 1000L : 1000000L;
    if (getenv("CACHE_S")) cache_s = atof(getenv("CACHE_S"));
    eio_names = getenv("EIO_NAMES");
    hang_names = getenv("HANG_NAMES");
    if (getenv("HANG_S")) hang_s = (unsigned)atoi(getenv("HANG_S"));
    unsigned threads = getenv("MAX_THREADS") ? (unsigned)atoi(getenv("MAX_THREADS")) : 512;

    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    struct fuse_cmdline_opts opts;
    if (fuse_parse_cmdline(&args, &opts) != 0 || !opts.mountpoint) {
        fprintf(stderr, "usage: SOURCE=dir latencyfs mountpoint [-f] [-o ro]\n");
        return 2;
    }
    struct fuse_session *se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
    if (!se || fuse_set_signal_handlers(se) != 0 || fuse_session_mount(se, opts.mountpoint) != 0) return 1;
    fuse_daemonize(opts.foreground);
    struct fuse_loop_config *cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, threads);
    fuse_loop_cfg_set_clone_fd(cfg, 1);
    int rc = fuse_session_loop_mt(se, cfg);
    fuse_loop_cfg_destroy(cfg);
    fuse_session_unmount(se);
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    free(opts.mountpoint);
    fuse_opt_free_args(&args);
    return rc ? 1 : 0;
}
