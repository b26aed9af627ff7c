/*
 * probe.c - measure how the real Linux kernel wakes a receiving process:
 * blocking recv() (one thread per socket) versus epoll_wait() (one thread for
 * all sockets), over loopback UDP or TCP, plus micro-measurements of a
 * context switch, a system call and a cross-CPU wakeup.
 *
 * Chapter 3 of 深入理解Linux网络: a blocking read costs two context switches
 * per message (sleep in sk_wait_data, wake from the softirq); epoll_wait under
 * load does not block at all. This program counts the switches with
 * getrusage(RUSAGE_THREAD) in every receiving thread.
 *
 * Linux only, C11 + POSIX + a few GNU/Linux calls. No dependencies.
 * Build: cc -O2 -pthread -o probe probe.c
 * Usage: probe --help
 *
 * Output: one JSON object on stdout. Errors: a message on stderr, exit 1.
 * Bad command line: a one-line message naming the argument, exit 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef __linux__
#error "probe.c needs Linux (epoll, RUSAGE_THREAD, sched_setaffinity)"
#endif

#define PROBE_VERSION 2

/* ------------------------------------------------------------------ */
/* small helpers                                                       */
/* ------------------------------------------------------------------ */

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("probe: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void die_errno(const char *what) {
    die("%s: %s", what, strerror(errno));
}

static void usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("probe: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see probe --help)\n", stderr);
    exit(2);
}

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t) {
    struct timespec ts = {.tv_sec = (time_t)(t / 1000000000ull), .tv_nsec = (long)(t % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static void spin_until(uint64_t t) {
    while (now_ns() < t) {
    }
}

static void *xmalloc(size_t n) {
    void *p = calloc(1, n ? n : 1);
    if (!p) die("out of memory (%zu bytes)", n);
    return p;
}

static int ncpus_online(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* Pin the calling thread to one CPU (cpu < 0: leave it alone). */
static void pin_self(int cpu) {
    if (cpu < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) die("sched_setaffinity(cpu %d): %s", cpu, strerror(errno));
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* nearest-rank percentile of a sorted array */
static uint64_t pct(const uint64_t *v, size_t n, double p) {
    if (n == 0) return 0;
    size_t k = (size_t)(p / 100.0 * (double)n + 0.999999999);
    if (k < 1) k = 1;
    if (k > n) k = n;
    return v[k - 1];
}

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static long parse_long(const char *flag, const char *s, long min, long max) {
    if (!s) usage_error("%s needs a value", flag);
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s) usage_error("%s expects an integer, got '%s'", flag, s);
    /* accept k/m suffixes for convenience */
    if (*end == 'k' || *end == 'K') v *= 1000, end++;
    else if (*end == 'm' || *end == 'M') v *= 1000000, end++;
    if (*end) usage_error("%s expects an integer, got '%s'", flag, s);
    if (v < min || v > max) usage_error("%s must be in [%ld, %ld], got %ld", flag, min, max, v);
    return v;
}

/* Duration: plain integer = ns, or with suffix ns/us/ms/s. */
static long parse_duration_ns(const char *flag, const char *s) {
    if (!s) usage_error("%s needs a value", flag);
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0) usage_error("%s expects a duration (e.g. 200us, 1ms, 5000ns), got '%s'", flag, s);
    double mul = 1;
    if (!*end || !strcmp(end, "ns")) mul = 1;
    else if (!strcmp(end, "us")) mul = 1e3;
    else if (!strcmp(end, "ms")) mul = 1e6;
    else if (!strcmp(end, "s")) mul = 1e9;
    else usage_error("%s: unknown unit in '%s' (use ns, us, ms or s)", flag, s);
    double ns = v * mul;
    if (ns > 3600e9) usage_error("%s: duration too large: '%s'", flag, s);
    return (long)(ns + 0.5);
}

static void raise_nofile(long need) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) die_errno("getrlimit(RLIMIT_NOFILE)");
    if ((long)rl.rlim_cur >= need) return;
    if (rl.rlim_max != RLIM_INFINITY && (long)rl.rlim_max < need) {
        rl.rlim_max = (rlim_t)need; /* needs CAP_SYS_RESOURCE */
    }
    rl.rlim_cur = (rlim_t)need;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        die("cannot raise RLIMIT_NOFILE to %ld (%s); try `ulimit -n %ld` first", need, strerror(errno), need);
}

/* ------------------------------------------------------------------ */
/* workload: blocking / epoll receive                                  */
/* ------------------------------------------------------------------ */

enum mode { MODE_BLOCKING, MODE_EPOLL };
enum proto { PROTO_UDP, PROTO_TCP };
enum waitkind { WAIT_AUTO, WAIT_SLEEP, WAIT_SPIN };

struct config {
    enum mode mode;
    enum proto proto;
    long conns, msgs, size, burst;
    long gap_ns;
    long timeout_ns, drain_ns;
    int random_order;
    uint64_t seed;
    enum waitkind wait;
    int sender_cpu, receiver_cpu;
    long rcvbuf;
    long settle_ns;
    long work_ns;
};

struct rx_thread {
    pthread_t tid;
    int first, count;      /* sockets [first, first+count) -- blocking: count == 1 */
    long expect;           /* messages this thread must receive */
    long got;
    uint64_t *lat;         /* latency per message, ns */
    long nvcsw, nivcsw;    /* deltas over the receive loop */
    long recv_calls, recv_eagain;
    long epoll_calls, epoll_events, epoll_max_events;
    int err;               /* errno of a fatal recv error, 0 if none */
    long short_msgs;       /* UDP datagrams shorter than expected */
    long bad_msgs;         /* messages whose last byte is wrong (framing error) */
};

static struct config cfg;
static int *rx_fd, *tx_fd;
static int *order;                 /* target socket of message i */
static long *expect_per_sock;
static pthread_barrier_t start_barrier;
static atomic_long delivered;
static atomic_long threads_done;
static atomic_int stop_flag;
static long n_rx_threads;
static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv;
static int sender_finished;
static uint64_t sender_done_ns;
static uint64_t t_first_send, t_last_recv_ns;
static atomic_ullong last_recv;
static int stop_efd = -1;

struct tx_stats {
    long nvcsw, nivcsw;
    uint64_t send_ns;
    long late;    /* sends that started after their deadline (>20us late) */
    long sent;
    int err;
} txs;

static void signal_done(void) {
    pthread_mutex_lock(&done_mu);
    pthread_cond_broadcast(&done_cv);
    pthread_mutex_unlock(&done_mu);
}

static void note_recv_time(uint64_t t) {
    unsigned long long prev = atomic_load_explicit(&last_recv, memory_order_relaxed);
    while (t > prev && !atomic_compare_exchange_weak(&last_recv, &prev, t)) {
    }
}

static void thread_finished(void) {
    if (atomic_fetch_add(&threads_done, 1) + 1 == n_rx_threads) signal_done();
}

static void set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) die_errno("fcntl(O_NONBLOCK)");
}

/* Create conns pairs of connected sockets on 127.0.0.1. */
static void make_sockets(void) {
    long n = cfg.conns;
    rx_fd = xmalloc(sizeof(int) * (size_t)n);
    tx_fd = xmalloc(sizeof(int) * (size_t)n);
    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_port = 0};
    lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl;
    if (cfg.proto == PROTO_UDP) {
        for (long i = 0; i < n; i++) {
            int r = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            int t = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (r < 0 || t < 0) die_errno("socket(AF_INET, SOCK_DGRAM)");
            struct sockaddr_in ra = lo, ta = lo;
            if (bind(r, (struct sockaddr *)&ra, sizeof ra) < 0) die_errno("bind(udp receiver)");
            if (bind(t, (struct sockaddr *)&ta, sizeof ta) < 0) die_errno("bind(udp sender)");
            sl = sizeof ra;
            if (getsockname(r, (struct sockaddr *)&ra, &sl) < 0) die_errno("getsockname");
            sl = sizeof ta;
            if (getsockname(t, (struct sockaddr *)&ta, &sl) < 0) die_errno("getsockname");
            if (connect(r, (struct sockaddr *)&ta, sizeof ta) < 0) die_errno("connect(udp receiver)");
            if (connect(t, (struct sockaddr *)&ra, sizeof ra) < 0) die_errno("connect(udp sender)");
            rx_fd[i] = r;
            tx_fd[i] = t;
        }
    } else {
        int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (l < 0) die_errno("socket(AF_INET, SOCK_STREAM)");
        struct sockaddr_in la = lo;
        if (bind(l, (struct sockaddr *)&la, sizeof la) < 0) die_errno("bind(tcp listener)");
        if (listen(l, 128) < 0) die_errno("listen");
        sl = sizeof la;
        if (getsockname(l, (struct sockaddr *)&la, &sl) < 0) die_errno("getsockname");
        int one = 1;
        for (long i = 0; i < n; i++) {
            int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (t < 0) die_errno("socket(AF_INET, SOCK_STREAM)");
            if (connect(t, (struct sockaddr *)&la, sizeof la) < 0) die_errno("connect(tcp)");
            int r = accept4(l, NULL, NULL, SOCK_CLOEXEC);
            if (r < 0) die_errno("accept");
            if (setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) die_errno("setsockopt(TCP_NODELAY)");
            rx_fd[i] = r;
            tx_fd[i] = t;
        }
        close(l);
    }
    for (long i = 0; i < n; i++) {
        if (cfg.rcvbuf > 0) {
            int v = (int)cfg.rcvbuf;
            if (setsockopt(rx_fd[i], SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof v) < 0 &&
                setsockopt(rx_fd[i], SOL_SOCKET, SO_RCVBUF, &v, sizeof v) < 0)
                die_errno("setsockopt(SO_RCVBUF)");
        }
        if (cfg.mode == MODE_EPOLL) set_nonblock(rx_fd[i]);
    }
}

/* Called with one complete message in buf. */
static inline void got_message(struct rx_thread *rt, const unsigned char *buf) {
    uint64_t t = now_ns(), ts;
    memcpy(&ts, buf, sizeof ts);
    /* framing check: the sender fills byte i (i >= 8) with (unsigned char)i */
    size_t last = (size_t)cfg.size - 1;
    if (last >= 8 && buf[last] != (unsigned char)last) rt->bad_msgs++;
    if (rt->got < rt->expect) rt->lat[rt->got] = t > ts ? t - ts : 0;
    rt->got++;
    note_recv_time(t);
    atomic_fetch_add_explicit(&delivered, 1, memory_order_relaxed);
    /* the application's own work on this message (a busy loop, on CPU) */
    if (cfg.work_ns > 0) spin_until(t + (uint64_t)cfg.work_ns);
}

static void rusage_thread(long *nv, long *niv) {
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) != 0) die_errno("getrusage(RUSAGE_THREAD)");
    *nv = ru.ru_nvcsw;
    *niv = ru.ru_nivcsw;
}

/* One thread, one socket, blocking recv() until its share has arrived. */
static void *blocking_rx(void *arg) {
    struct rx_thread *rt = arg;
    pin_self(cfg.receiver_cpu);
    int fd = rx_fd[rt->first];
    size_t S = (size_t)cfg.size;
    unsigned char *buf = xmalloc(S);
    long nv0, niv0, nv1, niv1;
    pthread_barrier_wait(&start_barrier);
    rusage_thread(&nv0, &niv0);
    while (rt->got < rt->expect) {
        size_t off = 0;
        for (;;) {
            ssize_t n = recv(fd, buf + off, S - off, 0);
            rt->recv_calls++;
            if (n > 0) {
                if (cfg.proto == PROTO_UDP) {
                    if ((size_t)n < S) rt->short_msgs++;
                    off = S;
                } else {
                    off += (size_t)n;
                }
                if (off == S) break;
            } else if (n == 0) {
                goto out; /* shut down (timeout path) or peer closed */
            } else if (errno == EINTR) {
                continue;
            } else {
                if (!atomic_load(&stop_flag)) rt->err = errno;
                goto out;
            }
        }
        got_message(rt, buf);
    }
out:
    rusage_thread(&nv1, &niv1);
    rt->nvcsw = nv1 - nv0;
    rt->nivcsw = niv1 - niv0;
    free(buf);
    thread_finished();
    return NULL;
}

/* One thread, all sockets, level-triggered epoll_wait + recv until EAGAIN. */
static void *epoll_rx(void *arg) {
    struct rx_thread *rt = arg;
    pin_self(cfg.receiver_cpu);
    long n = cfg.conns;
    size_t S = (size_t)cfg.size;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die_errno("epoll_create1");
    for (long i = 0; i < n; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, rx_fd[i], &ev) < 0) die_errno("epoll_ctl(EPOLL_CTL_ADD)");
    }
    struct epoll_event sev = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, stop_efd, &sev) < 0) die_errno("epoll_ctl(EPOLL_CTL_ADD eventfd)");
    int maxev = (int)(n + 1 < 4096 ? n + 1 : 4096);
    struct epoll_event *evs = xmalloc(sizeof *evs * (size_t)maxev);
    /* per-connection reassembly buffers (TCP may return partial messages) */
    unsigned char *bufs = xmalloc(S * (size_t)n);
    size_t *off = xmalloc(sizeof(size_t) * (size_t)n);
    long nv0, niv0, nv1, niv1;
    pthread_barrier_wait(&start_barrier);
    rusage_thread(&nv0, &niv0);
    while (rt->got < rt->expect && !atomic_load(&stop_flag)) {
        int k = epoll_wait(ep, evs, maxev, -1);
        rt->epoll_calls++;
        if (k < 0) {
            if (errno == EINTR) continue;
            rt->err = errno;
            break;
        }
        rt->epoll_events += k;
        if (k > rt->epoll_max_events) rt->epoll_max_events = k;
        for (int e = 0; e < k; e++) {
            if (evs[e].data.u64 == UINT64_MAX) goto out; /* stop requested */
            long i = (long)evs[e].data.u64;
            int fd = rx_fd[i];
            unsigned char *b = bufs + S * (size_t)i;
            for (;;) {
                ssize_t r = recv(fd, b + off[i], S - off[i], 0);
                rt->recv_calls++;
                if (r > 0) {
                    if (cfg.proto == PROTO_UDP) {
                        if ((size_t)r < S) rt->short_msgs++;
                        got_message(rt, b);
                    } else {
                        off[i] += (size_t)r;
                        if (off[i] == S) {
                            got_message(rt, b);
                            off[i] = 0;
                        }
                    }
                } else if (r == 0) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                    break;
                } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    rt->recv_eagain++;
                    break;
                } else if (errno == EINTR) {
                    continue;
                } else {
                    if (!atomic_load(&stop_flag)) rt->err = errno;
                    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                    break;
                }
            }
        }
    }
out:
    rusage_thread(&nv1, &niv1);
    rt->nvcsw = nv1 - nv0;
    rt->nivcsw = niv1 - niv0;
    free(evs);
    free(bufs);
    free(off);
    close(ep);
    thread_finished();
    return NULL;
}

static int sender_spins(void) {
    return cfg.wait == WAIT_SPIN || (cfg.wait == WAIT_AUTO && cfg.gap_ns < 50000);
}

static void *sender(void *arg) {
    (void)arg;
    pin_self(cfg.sender_cpu);
    size_t S = (size_t)cfg.size;
    unsigned char *buf = xmalloc(S);
    for (size_t i = 8; i < S; i++) buf[i] = (unsigned char)i;
    int spin = sender_spins();
    long nv0, niv0, nv1, niv1;
    pthread_barrier_wait(&start_barrier);
    /* let every receiver reach its recv()/epoll_wait() and fall asleep */
    sleep_until(now_ns() + (uint64_t)cfg.settle_ns);
    rusage_thread(&nv0, &niv0);
    uint64_t start = now_ns();
    t_first_send = start;
    uint64_t next = start;
    for (long m = 0; m < cfg.msgs && !atomic_load(&stop_flag); m++) {
        if (cfg.gap_ns > 0 && m % cfg.burst == 0) {
            uint64_t t = now_ns();
            if (m > 0) {
                if (t < next) {
                    if (spin) spin_until(next);
                    else sleep_until(next);
                } else if (t > next + 20000) {
                    txs.late++;
                }
            }
            t = now_ns();
            next = (m > 0 && t < next + 20000 ? next : t) + (uint64_t)cfg.gap_ns;
        }
        int fd = tx_fd[order[m]];
        uint64_t ts = now_ns();
        memcpy(buf, &ts, sizeof ts);
        size_t off = 0;
        while (off < S) {
            ssize_t n = send(fd, buf + off, S - off, MSG_NOSIGNAL);
            if (n > 0) {
                off += (size_t)n;
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else if (n < 0 && (errno == ENOBUFS || errno == EAGAIN) && cfg.proto == PROTO_UDP) {
                /* loopback UDP: treat as a drop of this message */
                break;
            } else {
                if (!atomic_load(&stop_flag)) txs.err = errno;
                goto out;
            }
        }
        txs.sent++;
    }
out:
    txs.send_ns = now_ns() - start;
    rusage_thread(&nv1, &niv1);
    txs.nvcsw = nv1 - nv0;
    txs.nivcsw = niv1 - niv0;
    free(buf);
    pthread_mutex_lock(&done_mu);
    sender_finished = 1;
    sender_done_ns = now_ns();
    pthread_cond_broadcast(&done_cv);
    pthread_mutex_unlock(&done_mu);
    return NULL;
}

static const char *mode_name(enum mode m) { return m == MODE_BLOCKING ? "blocking" : "epoll"; }
static const char *proto_name(enum proto p) { return p == PROTO_UDP ? "udp" : "tcp"; }

static int run_workload(void) {
    long n = cfg.conns;
    raise_nofile(2 * n + 64);
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    signal(SIGPIPE, SIG_IGN);

    /* message -> socket schedule */
    order = xmalloc(sizeof(int) * (size_t)cfg.msgs);
    expect_per_sock = xmalloc(sizeof(long) * (size_t)n);
    uint64_t rng = cfg.seed;
    for (long m = 0; m < cfg.msgs; m++) {
        int s = cfg.random_order ? (int)(splitmix64(&rng) % (uint64_t)n) : (int)(m % n);
        order[m] = s;
        expect_per_sock[s]++;
    }

    make_sockets();
    stop_efd = eventfd(0, EFD_CLOEXEC);
    if (stop_efd < 0) die_errno("eventfd");

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&done_cv, &ca);

    /* receiver threads */
    struct rx_thread *rts;
    if (cfg.mode == MODE_BLOCKING) {
        n_rx_threads = n;
        rts = xmalloc(sizeof *rts * (size_t)n);
        for (long i = 0; i < n; i++) {
            rts[i].first = (int)i;
            rts[i].count = 1;
            rts[i].expect = expect_per_sock[i];
        }
    } else {
        n_rx_threads = 1;
        rts = xmalloc(sizeof *rts);
        rts[0].first = 0;
        rts[0].count = (int)n;
        rts[0].expect = cfg.msgs;
    }
    for (long i = 0; i < n_rx_threads; i++) rts[i].lat = xmalloc(sizeof(uint64_t) * (size_t)(rts[i].expect + 1));

    if (pthread_barrier_init(&start_barrier, NULL, (unsigned)(n_rx_threads + 2)) != 0) die("pthread_barrier_init failed");
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (long i = 0; i < n_rx_threads; i++) {
        int e = pthread_create(&rts[i].tid, &attr, cfg.mode == MODE_BLOCKING ? blocking_rx : epoll_rx, &rts[i]);
        if (e) die("pthread_create (receiver %ld of %ld): %s", i + 1, n_rx_threads, strerror(e));
    }
    pthread_t stid;
    int e = pthread_create(&stid, &attr, sender, NULL);
    if (e) die("pthread_create (sender): %s", strerror(e));

    uint64_t t0 = now_ns();
    pthread_barrier_wait(&start_barrier);

    /* wait: all receivers done, or the global timeout, or sender done + drain */
    int timed_out = 0;
    pthread_mutex_lock(&done_mu);
    for (;;) {
        if (atomic_load(&threads_done) == n_rx_threads) break;
        uint64_t deadline = t0 + (uint64_t)cfg.timeout_ns;
        if (sender_finished && sender_done_ns + (uint64_t)cfg.drain_ns < deadline)
            deadline = sender_done_ns + (uint64_t)cfg.drain_ns;
        if (now_ns() >= deadline) {
            timed_out = 1;
            break;
        }
        struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000ull), .tv_nsec = (long)(deadline % 1000000000ull)};
        pthread_cond_timedwait(&done_cv, &done_mu, &ts);
    }
    pthread_mutex_unlock(&done_mu);
    if (timed_out) {
        /* wake everybody: blocked recv() returns 0, blocked send() fails, epoll sees the eventfd */
        atomic_store(&stop_flag, 1);
        uint64_t one = 1;
        if (write(stop_efd, &one, sizeof one) < 0) die_errno("write(eventfd)");
        for (long i = 0; i < n; i++) {
            shutdown(rx_fd[i], SHUT_RDWR);
            shutdown(tx_fd[i], SHUT_RDWR);
        }
    }
    for (long i = 0; i < n_rx_threads; i++) pthread_join(rts[i].tid, NULL);
    pthread_join(stid, NULL);
    t_last_recv_ns = atomic_load(&last_recv);

    /* aggregate */
    long got = 0, nv = 0, niv = 0, rc = 0, eag = 0, epc = 0, epe = 0, epmax = 0, shorts = 0, bad = 0;
    int err = 0;
    for (long i = 0; i < n_rx_threads; i++) {
        long g = rts[i].got < rts[i].expect ? rts[i].got : rts[i].expect;
        got += g;
        nv += rts[i].nvcsw;
        niv += rts[i].nivcsw;
        rc += rts[i].recv_calls;
        eag += rts[i].recv_eagain;
        epc += rts[i].epoll_calls;
        epe += rts[i].epoll_events;
        if (rts[i].epoll_max_events > epmax) epmax = rts[i].epoll_max_events;
        shorts += rts[i].short_msgs;
        bad += rts[i].bad_msgs;
        if (rts[i].err && !err) err = rts[i].err;
    }
    uint64_t *lat = xmalloc(sizeof(uint64_t) * (size_t)(got + 1));
    size_t k = 0;
    for (long i = 0; i < n_rx_threads; i++) {
        long g = rts[i].got < rts[i].expect ? rts[i].got : rts[i].expect;
        memcpy(lat + k, rts[i].lat, sizeof(uint64_t) * (size_t)g);
        k += (size_t)g;
    }
    qsort(lat, k, sizeof(uint64_t), cmp_u64);
    uint64_t wall = (t_last_recv_ns > t_first_send ? t_last_recv_ns : now_ns()) - t_first_send;
    if (timed_out) wall = now_ns() - t_first_send;
    double dv = got > 0 ? (double)got : 1.0;

    printf("{\"probe_version\":%d,\"mode\":\"%s\",\"proto\":\"%s\",\"conns\":%ld,\"msgs\":%ld,\"bytes\":%ld,"
           "\"gap_ns\":%ld,\"burst\":%ld,\"work_ns\":%ld,\"order\":\"%s\",\"seed\":%llu,\"sender_wait\":\"%s\","
           "\"receiver_threads\":%ld,\"delivered\":%ld,\"timed_out\":%s,"
           "\"vcsw\":%ld,\"nivcsw\":%ld,\"vcsw_per_msg\":%.4f,\"csw_per_msg\":%.4f,"
           "\"epoll_wait_calls\":%ld,\"epoll_events\":%ld,\"epoll_max_events\":%ld,"
           "\"recv_calls\":%ld,\"recv_eagain\":%ld,\"short_msgs\":%ld,\"bad_msgs\":%ld,"
           "\"latency_ns\":{\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"max\":%llu},"
           "\"wall_ns\":%llu,\"sender\":{\"sent\":%ld,\"send_ns\":%llu,\"late\":%ld,\"vcsw\":%ld,\"nivcsw\":%ld},"
           "\"sender_cpu\":%d,\"receiver_cpu\":%d,\"error\":%s%s%s}\n",
           PROBE_VERSION, mode_name(cfg.mode), proto_name(cfg.proto), n, cfg.msgs, cfg.size, cfg.gap_ns, cfg.burst, cfg.work_ns,
           cfg.random_order ? "random" : "rr", (unsigned long long)cfg.seed,
           sender_spins() ? "spin" : "sleep", n_rx_threads, got, timed_out ? "true" : "false", nv, niv, (double)nv / dv,
           (double)(nv + niv) / dv, epc, epe, epmax, rc, eag, shorts, bad, (unsigned long long)pct(lat, k, 50),
           (unsigned long long)pct(lat, k, 90), (unsigned long long)pct(lat, k, 99),
           (unsigned long long)(k ? lat[k - 1] : 0), (unsigned long long)wall, txs.sent,
           (unsigned long long)txs.send_ns, txs.late, txs.nvcsw, txs.nivcsw, cfg.sender_cpu, cfg.receiver_cpu,
           (err || txs.err) ? "\"" : "null", (err || txs.err) ? strerror(err ? err : txs.err) : "",
           (err || txs.err) ? "\"" : "");
    fflush(stdout);
    for (long i = 0; i < n; i++) {
        close(rx_fd[i]);
        close(tx_fd[i]);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* calibration                                                         */
/* ------------------------------------------------------------------ */

struct pp_arg {
    int rfd, wfd;
    long iters;
    int cpu;
};

static void must_write1(int fd) {
    char c = 'x';
    for (;;) {
        ssize_t n = write(fd, &c, 1);
        if (n == 1) return;
        if (n < 0 && errno == EINTR) continue;
        die_errno("write(pipe)");
    }
}

static void must_read1(int fd) {
    char c;
    for (;;) {
        ssize_t n = read(fd, &c, 1);
        if (n == 1) return;
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) die("read(pipe): unexpected EOF");
        die_errno("read(pipe)");
    }
}

/* the echo side of the ping-pong */
static void *pp_echo(void *arg) {
    struct pp_arg *a = arg;
    pin_self(a->cpu);
    for (long i = 0; i < a->iters; i++) {
        must_read1(a->rfd);
        must_write1(a->wfd);
    }
    return NULL;
}

static void make_pipe(int p[2]) {
    if (pipe2(p, O_CLOEXEC) != 0) die_errno("pipe2");
}

/* Threads ping-pong one byte over two pipes; returns ns per hop (= one switch when on one CPU). */
static double pingpong_threads(long iters, int cpu_a, int cpu_b) {
    int ab[2], ba[2];
    make_pipe(ab);
    make_pipe(ba);
    struct pp_arg a = {.rfd = ab[0], .wfd = ba[1], .iters = iters, .cpu = cpu_b};
    pthread_t t;
    int e = pthread_create(&t, NULL, pp_echo, &a);
    if (e) die("pthread_create: %s", strerror(e));
    cpu_set_t old;
    sched_getaffinity(0, sizeof old, &old);
    pin_self(cpu_a);
    /* warm up */
    must_write1(ab[1]);
    must_read1(ba[0]);
    uint64_t t0 = now_ns();
    for (long i = 1; i < iters; i++) {
        must_write1(ab[1]);
        must_read1(ba[0]);
    }
    uint64_t dt = now_ns() - t0;
    pthread_join(t, NULL);
    sched_setaffinity(0, sizeof old, &old);
    close(ab[0]), close(ab[1]), close(ba[0]), close(ba[1]);
    return (double)dt / (2.0 * (double)(iters - 1));
}

/* Same with two processes (the author's coder-kung-fu tests/cpu/test03). */
static double pingpong_procs(long iters, int cpu) {
    int ab[2], ba[2];
    make_pipe(ab);
    make_pipe(ba);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) die_errno("fork");
    if (pid == 0) {
        pin_self(cpu);
        for (long i = 0; i < iters; i++) {
            must_read1(ab[0]);
            must_write1(ba[1]);
        }
        _exit(0);
    }
    cpu_set_t old;
    sched_getaffinity(0, sizeof old, &old);
    pin_self(cpu);
    must_write1(ab[1]);
    must_read1(ba[0]);
    uint64_t t0 = now_ns();
    for (long i = 1; i < iters; i++) {
        must_write1(ab[1]);
        must_read1(ba[0]);
    }
    uint64_t dt = now_ns() - t0;
    int st;
    waitpid(pid, &st, 0);
    sched_setaffinity(0, sizeof old, &old);
    close(ab[0]), close(ab[1]), close(ba[0]), close(ba[1]);
    return (double)dt / (2.0 * (double)(iters - 1));
}

static double syscall_cost(long iters) {
    syscall(SYS_getppid);
    uint64_t t0 = now_ns();
    for (long i = 0; i < iters; i++) syscall(SYS_getppid);
    return (double)(now_ns() - t0) / (double)iters;
}

/* write 1 byte + read 1 byte on a pipe in the same thread: never blocks */
static double pipe_rw_cost(long iters) {
    int p[2];
    make_pipe(p);
    uint64_t t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        must_write1(p[1]);
        must_read1(p[0]);
    }
    double r = (double)(now_ns() - t0) / (double)iters;
    close(p[0]), close(p[1]);
    return r;
}

static double clock_cost(long iters) {
    uint64_t t0 = now_ns(), x = 0;
    for (long i = 0; i < iters; i++) x += now_ns();
    uint64_t dt = now_ns() - t0;
    if (x == 42) puts("");
    return (double)dt / (double)iters;
}

struct wk_arg {
    int rfd;
    long iters;
    int cpu;
    uint64_t *lat;
};

static void *wk_reader(void *arg) {
    struct wk_arg *a = arg;
    pin_self(a->cpu);
    for (long i = 0; i < a->iters; i++) {
        uint64_t ts;
        ssize_t n;
        while ((n = read(a->rfd, &ts, sizeof ts)) < 0 && errno == EINTR) {
        }
        if (n != (ssize_t)sizeof ts) die("read(pipe) in wakeup test: %s", n < 0 ? strerror(errno) : "short read");
        uint64_t t = now_ns();
        a->lat[i] = t - ts;
    }
    return NULL;
}

/* A busy CPU: a SCHED_IDLE thread spinning until told to stop. SCHED_IDLE so that a woken
 * normal thread preempts it at once (check_preempt_wakeup, in CFS and in EEVDF) and the
 * measurement is the IPI to a running CPU, not a scheduler decision about who runs. */
struct spin_arg {
    atomic_int stop;
    int cpu;
};

static void *spinner(void *arg) {
    struct spin_arg *a = arg;
    pin_self(a->cpu);
    struct sched_param sp = {.sched_priority = 0};
    if (sched_setscheduler(0, SCHED_IDLE, &sp) != 0) die_errno("sched_setscheduler(SCHED_IDLE)");
    while (!atomic_load_explicit(&a->stop, memory_order_relaxed)) {
    }
    return NULL;
}

/* A thread blocked in read() on a pipe, woken by a write from another thread. With
 * busy_cpu >= 0 a spinner keeps that CPU busy (not idle) meanwhile. */
static void wakeup_latency(long iters, long gap_ns, int cpu_waker, int cpu_reader, int busy_cpu, uint64_t out[3]) {
    struct spin_arg sa = {.cpu = busy_cpu};
    atomic_init(&sa.stop, 0);
    pthread_t st;
    if (busy_cpu >= 0) {
        int e = pthread_create(&st, NULL, spinner, &sa);
        if (e) die("pthread_create: %s", strerror(e));
    }
    int p[2];
    make_pipe(p);
    struct wk_arg a = {.rfd = p[0], .iters = iters, .cpu = cpu_reader, .lat = xmalloc(sizeof(uint64_t) * (size_t)iters)};
    pthread_t t;
    int e = pthread_create(&t, NULL, wk_reader, &a);
    if (e) die("pthread_create: %s", strerror(e));
    cpu_set_t old;
    sched_getaffinity(0, sizeof old, &old);
    pin_self(cpu_waker);
    for (long i = 0; i < iters; i++) {
        sleep_until(now_ns() + (uint64_t)gap_ns); /* reader is asleep again by now */
        uint64_t ts = now_ns();
        if (write(p[1], &ts, sizeof ts) != (ssize_t)sizeof ts) die_errno("write(pipe)");
    }
    pthread_join(t, NULL);
    if (busy_cpu >= 0) {
        atomic_store(&sa.stop, 1);
        pthread_join(st, NULL);
    }
    sched_setaffinity(0, sizeof old, &old);
    qsort(a.lat, (size_t)iters, sizeof(uint64_t), cmp_u64);
    out[0] = pct(a.lat, (size_t)iters, 50);
    out[1] = pct(a.lat, (size_t)iters, 99);
    out[2] = a.lat[iters - 1];
    free(a.lat);
    close(p[0]), close(p[1]);
}

static double median(double *v, int n) {
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int run_calib(long iters, int reps) {
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    int ncpu = ncpus_online();
    int cpu_other = ncpu > 1 ? 1 : 0;
    double v[16];
    if (reps > 16) reps = 16;

    for (int r = 0; r < reps; r++) v[r] = pingpong_threads(iters, 0, 0);
    double ctx_thr = median(v, reps);
    for (int r = 0; r < reps; r++) v[r] = pingpong_procs(iters, 0);
    double ctx_proc = median(v, reps);
    long iters_2cpu = iters / 10 < 100 ? 100 : iters / 10; /* cross-CPU hops are ~10x slower */
    for (int r = 0; r < reps; r++) v[r] = pingpong_threads(iters_2cpu, 0, cpu_other);
    double hop_2cpu = median(v, reps);
    for (int r = 0; r < reps; r++) v[r] = syscall_cost(iters * 20);
    double sysc = median(v, reps);
    for (int r = 0; r < reps; r++) v[r] = pipe_rw_cost(iters * 5);
    double piperw = median(v, reps);
    for (int r = 0; r < reps; r++) v[r] = clock_cost(iters * 20);
    double clk = median(v, reps);
    uint64_t wk_x[3], wk_s[3], wk_xb[3], wk_sb[3];
    long wk_iters = iters / 10 < 200 ? 200 : iters / 10;
    wakeup_latency(wk_iters, 100000, 0, cpu_other, -1, wk_x);        /* other CPU, idle */
    wakeup_latency(wk_iters, 100000, 0, 0, -1, wk_s);                /* same CPU */
    wakeup_latency(wk_iters, 100000, 0, cpu_other, cpu_other, wk_xb); /* other CPU, busy */
    wakeup_latency(wk_iters, 100000, 0, 0, 0, wk_sb);                /* same CPU, busy */

    printf("{\"probe_version\":%d,\"cpus_online\":%d,\"iters\":%ld,\"reps\":%d,"
           "\"ctx_switch_ns\":%.0f,\"ctx_switch_process_ns\":%.0f,\"ctx_switch_net_ns\":%.0f,"
           "\"pingpong_2cpu_hop_ns\":%.0f,\"syscall_ns\":%.1f,\"pipe_write_read_ns\":%.0f,\"clock_gettime_ns\":%.1f,"
           "\"wakeup_ns\":{\"p50\":%llu,\"p99\":%llu,\"max\":%llu,\"waker_cpu\":0,\"sleeper_cpu\":%d,\"samples\":%ld},"
           "\"wakeup_same_cpu_ns\":{\"p50\":%llu,\"p99\":%llu,\"max\":%llu,\"samples\":%ld},"
           "\"wakeup_cross_busy_ns\":{\"p50\":%llu,\"p99\":%llu,\"max\":%llu,\"samples\":%ld},"
           "\"wakeup_same_busy_ns\":{\"p50\":%llu,\"p99\":%llu,\"max\":%llu,\"samples\":%ld}}\n",
           PROBE_VERSION, ncpu, iters, reps, ctx_thr, ctx_proc, ctx_thr - piperw, hop_2cpu, sysc, piperw, clk,
           (unsigned long long)wk_x[0], (unsigned long long)wk_x[1], (unsigned long long)wk_x[2], cpu_other,
           wk_iters, (unsigned long long)wk_s[0], (unsigned long long)wk_s[1], (unsigned long long)wk_s[2],
           wk_iters, (unsigned long long)wk_xb[0], (unsigned long long)wk_xb[1], (unsigned long long)wk_xb[2],
           wk_iters, (unsigned long long)wk_sb[0], (unsigned long long)wk_sb[1], (unsigned long long)wk_sb[2],
           wk_iters);
    fflush(stdout);
    return 0;
}

/* ------------------------------------------------------------------ */
/* command line                                                        */
/* ------------------------------------------------------------------ */

static const char *HELP =
    "probe - how the real kernel wakes a receiver: blocking recv() vs epoll_wait()\n"
    "\n"
    "usage:\n"
    "  probe blocking [options]   N receiver threads, one socket each, blocking recv()\n"
    "  probe epoll    [options]   one receiver thread, epoll_wait() (level-triggered) over N\n"
    "                             non-blocking sockets, recv() until EAGAIN\n"
    "  probe calib    [--iters K] [--reps R]\n"
    "                             context switch (pipe ping-pong, 2 threads pinned to CPU 0;\n"
    "                             also 2 processes, and 2 threads on 2 CPUs), syscall cost,\n"
    "                             pipe wakeup latency: to the other CPU idle and busy, to the\n"
    "                             same CPU idle and busy (busy = a SCHED_IDLE spinner there)\n"
    "  probe --help\n"
    "\n"
    "workload options (blocking, epoll):\n"
    "  --proto udp|tcp      connected UDP socket pairs, or accepted TCP connections (default udp)\n"
    "  --conns N            sockets / connections (default 1, max 100000)\n"
    "  --msgs M             messages to send (default 1000)\n"
    "  --size S             bytes per message, >= 8: the first 8 are the send time (default 64)\n"
    "  --gap D              pause between messages (burst 1) or between batches; a duration\n"
    "                       like 200us, 1ms, 5000 (ns). 0 = back to back (default 200us)\n"
    "  --burst B            messages per batch sent back to back (default 1 = sparse)\n"
    "  --order rr|random    socket of each message: round-robin or seeded random (default rr)\n"
    "  --seed N             seed for --order random (default 1)\n"
    "  --wait auto|sleep|spin  how the sender waits for the gap: clock_nanosleep or a busy loop\n"
    "                       on CLOCK_MONOTONIC; auto = spin below 50us (default auto)\n"
    "  --sender-cpu C       pin the sender thread to CPU C (default: not pinned)\n"
    "  --receiver-cpu C     pin the receiver thread(s) to CPU C (default: not pinned)\n"
    "  --rcvbuf BYTES       SO_RCVBUF(FORCE) for receiving sockets (default: kernel default)\n"
    "  --timeout D          give up after D (default 10s); also 1s after the sender finished\n"
    "                       (--drain D); reports delivered < msgs and timed_out: true\n"
    "  --work D             busy CPU work per received message in the receiver, as an\n"
    "                       application would do (default 0)\n"
    "  --settle D           pause before the first send so receivers are asleep (default 20ms)\n"
    "\n"
    "output: one JSON object on stdout, e.g.\n"
    "  {\"mode\":\"epoll\",\"proto\":\"udp\",\"conns\":100,\"msgs\":2000,\"bytes\":64,\"gap_ns\":200000,\n"
    "   \"burst\":1,\"delivered\":2000,\"vcsw\":1999,\"nivcsw\":0,\"vcsw_per_msg\":0.9995,\n"
    "   \"csw_per_msg\":0.9995,\"epoll_wait_calls\":2000,\"recv_calls\":4000,\n"
    "   \"latency_ns\":{\"p50\":..,\"p90\":..,\"p99\":..,\"max\":..},\"wall_ns\":..,...}\n"
    "vcsw/nivcsw are getrusage(RUSAGE_THREAD) ru_nvcsw/ru_nivcsw deltas summed over the\n"
    "receiving threads; latency is from the sender's clock_gettime(CLOCK_MONOTONIC) just\n"
    "before send() to the return of the recv() that completed the message.\n"
    "\n"
    "exit status: 0 ok (even if timed out), 1 system error, 2 bad command line\n";

int main(int argc, char **argv) {
    if (argc < 2) usage_error("missing mode: blocking, epoll or calib");
    const char *m = argv[1];
    if (!strcmp(m, "--help") || !strcmp(m, "-h") || !strcmp(m, "help")) {
        fputs(HELP, stdout);
        return 0;
    }
    if (!strcmp(m, "calib")) {
        long iters = 20000, reps = 3;
        for (int i = 2; i < argc; i++) {
            const char *a = argv[i];
            if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
                fputs(HELP, stdout);
                return 0;
            } else if (!strcmp(a, "--iters")) {
                iters = parse_long(a, i + 1 < argc ? argv[++i] : NULL, 100, 100000000);
            } else if (!strcmp(a, "--reps")) {
                reps = parse_long(a, i + 1 < argc ? argv[++i] : NULL, 1, 16);
            } else {
                usage_error("unknown option '%s' for calib", a);
            }
        }
        return run_calib(iters, (int)reps);
    }
    if (!strcmp(m, "blocking")) cfg.mode = MODE_BLOCKING;
    else if (!strcmp(m, "epoll")) cfg.mode = MODE_EPOLL;
    else usage_error("unknown mode '%s' (expected blocking, epoll or calib)", m);

    cfg.proto = PROTO_UDP;
    cfg.conns = 1;
    cfg.msgs = 1000;
    cfg.size = 64;
    cfg.burst = 1;
    cfg.gap_ns = 200000;
    cfg.timeout_ns = 10000000000L;
    cfg.drain_ns = 1000000000L;
    cfg.seed = 1;
    cfg.wait = WAIT_AUTO;
    cfg.sender_cpu = -1;
    cfg.receiver_cpu = -1;
    cfg.settle_ns = 20000000L;
    int ncpu = ncpus_online();
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(HELP, stdout);
            return 0;
        }
        if (!v) usage_error("%s needs a value", a);
        i++;
        if (!strcmp(a, "--proto")) {
            if (!strcmp(v, "udp")) cfg.proto = PROTO_UDP;
            else if (!strcmp(v, "tcp")) cfg.proto = PROTO_TCP;
            else usage_error("--proto expects udp or tcp, got '%s'", v);
        } else if (!strcmp(a, "--conns")) cfg.conns = parse_long(a, v, 1, 100000);
        else if (!strcmp(a, "--msgs")) cfg.msgs = parse_long(a, v, 1, 100000000);
        else if (!strcmp(a, "--size")) cfg.size = parse_long(a, v, 8, 1 << 20);
        else if (!strcmp(a, "--gap")) cfg.gap_ns = parse_duration_ns(a, v);
        else if (!strcmp(a, "--burst")) cfg.burst = parse_long(a, v, 1, 100000000);
        else if (!strcmp(a, "--order")) {
            if (!strcmp(v, "rr")) cfg.random_order = 0;
            else if (!strcmp(v, "random")) cfg.random_order = 1;
            else usage_error("--order expects rr or random, got '%s'", v);
        } else if (!strcmp(a, "--seed")) cfg.seed = (uint64_t)parse_long(a, v, 0, LONG_MAX);
        else if (!strcmp(a, "--wait")) {
            if (!strcmp(v, "auto")) cfg.wait = WAIT_AUTO;
            else if (!strcmp(v, "sleep")) cfg.wait = WAIT_SLEEP;
            else if (!strcmp(v, "spin")) cfg.wait = WAIT_SPIN;
            else usage_error("--wait expects auto, sleep or spin, got '%s'", v);
        } else if (!strcmp(a, "--sender-cpu")) cfg.sender_cpu = (int)parse_long(a, v, 0, ncpu - 1);
        else if (!strcmp(a, "--receiver-cpu")) cfg.receiver_cpu = (int)parse_long(a, v, 0, ncpu - 1);
        else if (!strcmp(a, "--rcvbuf")) cfg.rcvbuf = parse_long(a, v, 1024, 1L << 30);
        else if (!strcmp(a, "--timeout")) cfg.timeout_ns = parse_duration_ns(a, v);
        else if (!strcmp(a, "--drain")) cfg.drain_ns = parse_duration_ns(a, v);
        else if (!strcmp(a, "--settle")) cfg.settle_ns = parse_duration_ns(a, v);
        else if (!strcmp(a, "--work")) cfg.work_ns = parse_duration_ns(a, v);
        else usage_error("unknown option '%s'", a);
    }
    if (cfg.proto == PROTO_UDP && cfg.size > 65507) usage_error("--size %ld is too large for UDP (max 65507)", cfg.size);
    if (cfg.timeout_ns <= 0) usage_error("--timeout must be > 0");
    return run_workload();
}
