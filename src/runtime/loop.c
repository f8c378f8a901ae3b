/*
 * Event loop: epoll (Linux) or poll(2) backend, timer heap, posted tasks,
 * signal watchers, wakeup fd.
 *
 * One iteration (run_once) runs these phases in order:
 *   1. clock, due timers, posted tasks and signals, session timeouts
 *   2. flush the output of every link that produced some (coalesced: one
 *      send per link per iteration)
 *   3. reap dead links (on_close hooks, free)
 *   4. wait for events (timeout: next timer or session deadline)
 *   5. dispatch events (reads feed sessions, writes flush blocked links)
 *   6. flush and reap again, so answers leave before the next wait
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#define RT_HAVE_EPOLL 1
#else
#define RT_HAVE_EPOLL 0
#endif

#include "rt_internal.h"

#define RT_MAX_EVENTS 256

/* ------------------------------------------------------------------------ */
/* clock, log                                                                */
/* ------------------------------------------------------------------------ */

uint64_t roam_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void rt_log(roam_loop *loop, roam_log_level lvl, const char *fmt, ...) {
  if (!loop || !loop->log) return;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  loop->log(loop->log_ud, lvl, buf);
}

uint64_t roam_loop_now(const roam_loop *loop) { return loop->now; }
roam_loop_backend roam_loop_get_backend(const roam_loop *loop) { return loop->backend; }
const roam_mem *roam_loop_mem(const roam_loop *loop) { return &loop->mem; }
bool roam_loop_is_running(const roam_loop *loop) {
  return atomic_load_explicit(&((roam_loop *)loop)->running, memory_order_relaxed) != 0;
}

bool rt_loop_on_thread(const roam_loop *loop) {
  roam_loop *l = (roam_loop *)loop;
  if (l->driven) return pthread_equal(l->thread, pthread_self());
  return atomic_load(&l->running) && pthread_equal(l->thread, pthread_self());
}

void roam_loop_options_init(roam_loop_options *opts) {
  memset(opts, 0, sizeof *opts);
  opts->backend = ROAM_LOOP_BACKEND_DEFAULT;
  opts->read_buffer_size = 256 * 1024;
}

/* ------------------------------------------------------------------------ */
/* wakeup                                                                    */
/* ------------------------------------------------------------------------ */

static void wake(roam_loop *loop) {
  int saved = errno;
  if (loop->drv.wake) {
    loop->drv.wake(loop->drv.ctx);
    errno = saved;
    return;
  }
#if RT_HAVE_EPOLL
  uint64_t one = 1;
  ssize_t r = write(loop->wake_wfd, &one, sizeof one);
#else
  char c = 1;
  ssize_t r = write(loop->wake_wfd, &c, 1);
#endif
  (void)r; /* EAGAIN: a wakeup is already pending */
  errno = saved;
}

void roam_loop_stop(roam_loop *loop) {
  atomic_store(&loop->stop, true);
  wake(loop);
}

static void run_posted(roam_loop *loop);
static void run_signals(roam_loop *loop);

static void on_wake(roam_io *w, int fd, unsigned events, void *ud) {
  (void)w;
  (void)events;
  (void)ud;
  uint8_t buf[64];
  while (read(fd, buf, sizeof buf) > 0) {
  }
}

/* ------------------------------------------------------------------------ */
/* the idle sweep's timer                                                    */
/* ------------------------------------------------------------------------ */

/* On Linux the idle sweep (link.c) has a timerfd of its own rather than a
 * deadline in the loop's wait: a wait with a timeout arms a kernel timer
 * every time, which on a busy server loop (otherwise waiting without one)
 * cost about 0.4 us per round trip. The timerfd is set at most twice a
 * second. Elsewhere, and on driven loops, the sweep is a deadline. */
#if RT_HAVE_EPOLL
static void on_sweep_timer(roam_io *w, int fd, unsigned events, void *ud) {
  (void)w;
  (void)events;
  uint64_t n;
  while (read(fd, &n, sizeof n) > 0) {
  }
  roam_loop *loop = ud;
  loop->sweep_due = loop->now; /* (due now, whatever the rounding) */
  loop->activity++;
}
#endif

void rt_loop_arm_sweep(roam_loop *loop, uint64_t due) {
  loop->sweep_due = due;
#if RT_HAVE_EPOLL
  if (loop->driven || loop->sweep_failed) return;
  if (!loop->sweep_io) {
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0 || roam_io_new(loop, fd, ROAM_IO_READ, on_sweep_timer, loop, &loop->sweep_io) != 0) {
      if (fd >= 0) close(fd);
      loop->sweep_io = NULL;
      loop->sweep_failed = true; /* a deadline then */
      return;
    }
    loop->sweep_fd = fd;
  }
  uint64_t d = due > loop->now ? due - loop->now : 1;
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  its.it_value.tv_sec = (time_t)(d / 1000);
  its.it_value.tv_nsec = (long)(d % 1000) * 1000000L;
  if (timerfd_settime(loop->sweep_fd, 0, &its, NULL) != 0) loop->sweep_failed = true;
#endif
}

/* ------------------------------------------------------------------------ */
/* io watchers                                                               */
/* ------------------------------------------------------------------------ */

#if RT_HAVE_EPOLL
static uint32_t to_epoll(unsigned ev) {
  uint32_t e = 0;
  if (ev & ROAM_IO_READ) e |= EPOLLIN | EPOLLRDHUP;
  if (ev & ROAM_IO_WRITE) e |= EPOLLOUT;
  return e;
}
#endif

void rt_io_init(roam_loop *loop, roam_io *io, int fd, roam_io_fn fn, void *ud) {
  memset(io, 0, sizeof *io);
  io->loop = loop;
  io->fd = fd;
  io->fn = fn;
  io->ud = ud;
  io->next = loop->ios;
  if (loop->ios) loop->ios->prev = io;
  loop->ios = io;
  loop->nios++;
}

int rt_io_start(roam_io *io, unsigned events) {
  roam_loop *loop = io->loop;
  events &= ROAM_IO_READ | ROAM_IO_WRITE;
  if (io->dead) return ROAM_ERR_STATE;
  if (io->events == events && (loop->backend != ROAM_LOOP_BACKEND_EPOLL || io->reg == events))
    return 0;
  io->events = events;
  if (loop->driven) {
    if (events == io->reg) return 0;
    if (events && io->fd < 0) return ROAM_ERR_STATE;
    int r = loop->drv.watch(loop->drv.ctx, io, io->fd, events);
    io->reg = r == 0 ? events : 0;
    return r == 0 ? 0 : ROAM_ERR_IO;
  }
#if RT_HAVE_EPOLL
  if (loop->backend == ROAM_LOOP_BACKEND_EPOLL) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.data.ptr = io;
    ev.events = to_epoll(events);
    int r;
    if (events == 0) {
      /* Remove rather than MOD to 0: a hung-up socket would report HUP
       * forever while paused. */
      r = io->reg ? epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL) : 0;
      io->reg = 0;
    } else if (io->reg) {
      r = epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev);
      io->reg = events;
    } else {
      r = epoll_ctl(loop->epfd, EPOLL_CTL_ADD, io->fd, &ev);
      io->reg = events;
    }
    if (r != 0) {
      io->reg = 0;
      return ROAM_ERR_IO;
    }
    return 0;
  }
#endif
  loop->pdirty = true;
  return 0;
}

void rt_io_release(roam_io *io) {
  if (io->dead) return;
  roam_loop *loop = io->loop;
  rt_io_start(io, 0);
  if (loop->driven) loop->drv.unwatch(loop->drv.ctx, io);
  io->dead = true;
  if (io->prev)
    io->prev->next = io->next;
  else
    loop->ios = io->next;
  if (io->next) io->next->prev = io->prev;
  io->prev = io->next = NULL;
  loop->nios--;
  loop->pdirty = true;
  if (!io->embedded) {
    io->grave_next = loop->grave;
    loop->grave = io;
  }
}

static void free_grave(roam_loop *loop) {
  while (loop->grave) {
    roam_io *io = loop->grave;
    loop->grave = io->grave_next;
    roam__free(&loop->mem, io);
  }
}

int roam_io_new(roam_loop *loop, int fd, unsigned events, roam_io_fn fn, void *ud,
                roam_io **out) {
  if (!loop || fd < 0 || !fn || !out) return ROAM_ERR_INVALID_ARG;
  roam_io *io = roam__malloc(&loop->mem, sizeof *io);
  if (!io) return ROAM_ERR_NOMEM;
  rt_io_init(loop, io, fd, fn, ud);
  int r = rt_io_start(io, events);
  if (r != 0) {
    rt_io_release(io);
    return r;
  }
  *out = io;
  return 0;
}

int roam_io_set(roam_io *w, unsigned events) {
  if (!w) return ROAM_ERR_INVALID_ARG;
  return rt_io_start(w, events);
}

void roam_io_free(roam_io *w) {
  if (w) rt_io_release(w);
}

/* ------------------------------------------------------------------------ */
/* timers: binary min-heap on (due)                                          */
/* ------------------------------------------------------------------------ */

static void heap_swap(roam_loop *loop, size_t a, size_t b) {
  roam_timer *t = loop->heap[a];
  loop->heap[a] = loop->heap[b];
  loop->heap[b] = t;
  loop->heap[a]->heap_index = a;
  loop->heap[b]->heap_index = b;
}

static void heap_up(roam_loop *loop, size_t i) {
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (loop->heap[p]->due <= loop->heap[i]->due) break;
    heap_swap(loop, p, i);
    i = p;
  }
}

static void heap_down(roam_loop *loop, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < loop->hn && loop->heap[l]->due < loop->heap[m]->due) m = l;
    if (r < loop->hn && loop->heap[r]->due < loop->heap[m]->due) m = r;
    if (m == i) break;
    heap_swap(loop, i, m);
    i = m;
  }
}

static void heap_remove(roam_loop *loop, roam_timer *t) {
  size_t i = t->heap_index;
  if (i == SIZE_MAX) return;
  loop->hn--;
  if (i != loop->hn) {
    loop->heap[i] = loop->heap[loop->hn];
    loop->heap[i]->heap_index = i;
    heap_down(loop, i);
    heap_up(loop, i);
  }
  t->heap_index = SIZE_MAX;
}

static int heap_insert(roam_loop *loop, roam_timer *t) {
  if (loop->hn == loop->hcap) {
    size_t nc = loop->hcap ? loop->hcap * 2 : 16;
    roam_timer **nh = roam__realloc(&loop->mem, loop->heap, nc * sizeof *nh);
    if (!nh) return ROAM_ERR_NOMEM;
    loop->heap = nh;
    loop->hcap = nc;
  }
  t->heap_index = loop->hn;
  loop->heap[loop->hn++] = t;
  heap_up(loop, t->heap_index);
  return 0;
}

int roam_timer_new(roam_loop *loop, roam_timer_fn fn, void *ud, roam_timer **out) {
  if (!loop || !fn || !out) return ROAM_ERR_INVALID_ARG;
  roam_timer *t = roam__calloc(&loop->mem, sizeof *t);
  if (!t) return ROAM_ERR_NOMEM;
  t->loop = loop;
  t->fn = fn;
  t->ud = ud;
  t->heap_index = SIZE_MAX;
  t->next = loop->timers;
  if (loop->timers) loop->timers->prev = t;
  loop->timers = t;
  *out = t;
  return 0;
}

int roam_timer_start(roam_timer *t, uint64_t delay_ms, uint64_t repeat_ms) {
  if (!t) return ROAM_ERR_INVALID_ARG;
  roam_loop *loop = t->loop;
  heap_remove(loop, t);
  uint64_t now = roam_now_ms();
  if (now > loop->now) loop->now = now;
  t->due = delay_ms > UINT64_MAX - loop->now ? UINT64_MAX : loop->now + delay_ms;
  t->repeat = repeat_ms;
  t->gen = loop->iter;
  rt_loop_touch(loop);
  return heap_insert(loop, t);
}

void roam_timer_stop(roam_timer *t) {
  if (t) heap_remove(t->loop, t);
}

bool roam_timer_is_active(const roam_timer *t) { return t && t->heap_index != SIZE_MAX; }

void roam_timer_free(roam_timer *t) {
  if (!t) return;
  roam_loop *loop = t->loop;
  heap_remove(loop, t);
  if (t->prev)
    t->prev->next = t->next;
  else
    loop->timers = t->next;
  if (t->next) t->next->prev = t->prev;
  roam__free(&loop->mem, t);
}

static void run_timers(roam_loop *loop) {
  while (loop->hn > 0) {
    roam_timer *t = loop->heap[0];
    /* A timer armed during this iteration waits for the next one, so a
     * zero-delay timer that re-arms itself cannot starve the loop. */
    if (t->due > loop->now || t->gen == loop->iter) break;
    heap_remove(loop, t);
    if (t->repeat) {
      t->due = loop->now + t->repeat;
      t->gen = loop->iter;
      if (heap_insert(loop, t) != 0) rt_log(loop, ROAM_LOG_ERROR, "timer re-arm: out of memory");
    }
    loop->activity++;
    t->fn(t, t->ud); /* may free t */
  }
}

/* ------------------------------------------------------------------------ */
/* posted tasks and signals                                                  */
/* ------------------------------------------------------------------------ */

int roam_loop_post(roam_loop *loop, roam_task_fn fn, void *ud) {
  if (!loop || !fn) return ROAM_ERR_INVALID_ARG;
  rt_task *t = roam__malloc(&loop->mem, sizeof *t);
  if (!t) return ROAM_ERR_NOMEM;
  t->next = NULL;
  t->fn = fn;
  t->ud = ud;
  pthread_mutex_lock(&loop->post_mu);
  bool was_empty = loop->post_head == NULL;
  if (loop->post_tail)
    loop->post_tail->next = t;
  else
    loop->post_head = t;
  loop->post_tail = t;
  pthread_mutex_unlock(&loop->post_mu);
  if (was_empty) wake(loop);
  return 0;
}

static void run_posted(roam_loop *loop) {
  pthread_mutex_lock(&loop->post_mu);
  rt_task *t = loop->post_head;
  loop->post_head = loop->post_tail = NULL;
  pthread_mutex_unlock(&loop->post_mu);
  while (t) {
    rt_task *n = t->next;
    loop->activity++;
    t->fn(loop, t->ud);
    roam__free(&loop->mem, t);
    t = n;
  }
}

static bool has_posted(roam_loop *loop) {
  pthread_mutex_lock(&loop->post_mu);
  bool r = loop->post_head != NULL;
  pthread_mutex_unlock(&loop->post_mu);
  return r;
}

static _Atomic(roam_loop *) g_sig_loop[RT_MAX_SIGNAL + 1];
static struct sigaction g_sig_old[RT_MAX_SIGNAL + 1];
static pthread_mutex_t g_sig_mu = PTHREAD_MUTEX_INITIALIZER;

static void sig_handler(int signo) {
  if (signo <= 0 || signo > RT_MAX_SIGNAL) return;
  roam_loop *loop = atomic_load(&g_sig_loop[signo]);
  if (!loop) return;
  atomic_fetch_or(&loop->sig_pending, 1ull << (signo - 1));
  wake(loop);
}

int roam_loop_signal(roam_loop *loop, int signo, roam_signal_fn fn, void *ud) {
  if (!loop || signo <= 0 || signo > RT_MAX_SIGNAL || signo == SIGKILL || signo == SIGSTOP)
    return ROAM_ERR_INVALID_ARG;
  int rc = 0;
  pthread_mutex_lock(&g_sig_mu);
  roam_loop *cur = atomic_load(&g_sig_loop[signo]);
  if (fn) {
    if (cur && cur != loop) {
      rc = ROAM_ERR_STATE;
    } else {
      loop->sig_fn[signo] = fn;
      loop->sig_ud[signo] = ud;
      if (!cur) {
        atomic_store(&g_sig_loop[signo], loop);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = sig_handler;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        if (sigaction(signo, &sa, &g_sig_old[signo]) != 0) {
          atomic_store(&g_sig_loop[signo], NULL);
          loop->sig_fn[signo] = NULL;
          rc = ROAM_ERR_IO;
        }
      }
    }
  } else if (cur == loop) {
    sigaction(signo, &g_sig_old[signo], NULL);
    atomic_store(&g_sig_loop[signo], NULL);
    loop->sig_fn[signo] = NULL;
    loop->sig_ud[signo] = NULL;
  }
  pthread_mutex_unlock(&g_sig_mu);
  return rc;
}

static void run_signals(roam_loop *loop) {
  unsigned long long p = atomic_exchange(&loop->sig_pending, 0);
  for (int s = 1; p && s <= RT_MAX_SIGNAL; s++) {
    if (!(p & (1ull << (s - 1)))) continue;
    p &= ~(1ull << (s - 1));
    loop->activity++;
    if (loop->sig_fn[s]) loop->sig_fn[s](loop, s, loop->sig_ud[s]);
  }
}

/* ------------------------------------------------------------------------ */
/* lifecycle                                                                 */
/* ------------------------------------------------------------------------ */

static int loop_create(roam_loop **out, const roam_loop_options *opts,
                       const roam_loop_driver *drv) {
  if (!out) return ROAM_ERR_INVALID_ARG;
  roam_loop_options def;
  if (!opts) {
    roam_loop_options_init(&def);
    opts = &def;
  }
  roam_mem mem;
  roam__mem_set(&mem, opts->mem);
  roam_loop *loop = roam__calloc(&mem, sizeof *loop);
  if (!loop) return ROAM_ERR_NOMEM;
  loop->mem = mem;
  loop->log = opts->log;
  loop->log_ud = opts->log_user_data;
  rt_env_loop_log(&loop->log, &loop->log_ud);
  loop->epfd = -1;
  loop->wake_rfd = loop->wake_wfd = -1;
  loop->sweep_fd = -1;
  pthread_mutex_init(&loop->post_mu, NULL);
  atomic_init(&loop->stop, false);
  atomic_init(&loop->wake_pending, false);
  atomic_init(&loop->running, 0);
  atomic_init(&loop->sig_pending, 0);
  if (drv) {
    loop->driven = true;
    loop->drv = *drv;
    loop->drv.detach = NULL; /* not called when creation fails */
    loop->drv_deadline = UINT64_MAX;
    loop->thread = pthread_self();
  }

  roam_loop_backend be = drv ? ROAM_LOOP_BACKEND_DRIVER : opts->backend;
  if (be == ROAM_LOOP_BACKEND_DEFAULT) {
    const char *env = getenv("ROAM_LOOP_BACKEND");
    if (env && strcmp(env, "poll") == 0)
      be = ROAM_LOOP_BACKEND_POLL;
    else if (env && strcmp(env, "epoll") == 0)
      be = ROAM_LOOP_BACKEND_EPOLL;
    else
      be = RT_HAVE_EPOLL ? ROAM_LOOP_BACKEND_EPOLL : ROAM_LOOP_BACKEND_POLL;
  }
  if (be == ROAM_LOOP_BACKEND_EPOLL && !RT_HAVE_EPOLL) {
    roam_loop_free(loop);
    return ROAM_ERR_INVALID_ARG;
  }
  loop->backend = be;
  size_t rb = opts->read_buffer_size ? opts->read_buffer_size : 256 * 1024;
  if (rb < 4096) rb = 4096;
  loop->rbuf_size = rb;
  loop->spin_max_us = opts->wait_spin_us < 0    ? 0
                      : opts->wait_spin_us == 0 ? RT_WAIT_SPIN_DEFAULT_US
                                                : (uint32_t)opts->wait_spin_us;
  loop->spin_us = loop->spin_max_us;
  loop->rbuf = roam__malloc(&mem, rb);
  if (!loop->rbuf) {
    roam_loop_free(loop);
    return ROAM_ERR_NOMEM;
  }
  if (drv && drv->wake) { /* the driver's own wakeup replaces the eventfd */
    loop->now = roam_now_ms();
    loop->drv.detach = drv->detach;
    *out = loop;
    return 0;
  }
#if RT_HAVE_EPOLL
  if (be == ROAM_LOOP_BACKEND_EPOLL) {
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
      roam_loop_free(loop);
      return ROAM_ERR_IO;
    }
  }
  loop->wake_rfd = loop->wake_wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (loop->wake_rfd < 0) {
    roam_loop_free(loop);
    return ROAM_ERR_IO;
  }
#else
  int p[2];
  if (pipe(p) != 0) {
    roam_loop_free(loop);
    return ROAM_ERR_IO;
  }
  loop->wake_rfd = p[0];
  loop->wake_wfd = p[1];
  rt_set_nonblock(p[0]);
  rt_set_nonblock(p[1]);
#endif
  int r = roam_io_new(loop, loop->wake_rfd, ROAM_IO_READ, on_wake, NULL, &loop->wake_io);
  if (r != 0) {
    roam_loop_free(loop);
    return r;
  }
  loop->now = roam_now_ms();
  if (drv) loop->drv.detach = drv->detach;
  *out = loop;
  return 0;
}

int roam_loop_new(roam_loop **out, const roam_loop_options *opts) {
  return loop_create(out, opts, NULL);
}

void roam_loop_free(roam_loop *loop) {
  if (!loop) return;
  loop->freeing = true;
  rt_client_free_all(loop);
  rt_server_free_all(loop);
  rt_listener_free_all(loop);
  rt_links_free_all(loop);
  /* signals */
  pthread_mutex_lock(&g_sig_mu);
  for (int s = 1; s <= RT_MAX_SIGNAL; s++) {
    if (atomic_load(&g_sig_loop[s]) == loop) {
      sigaction(s, &g_sig_old[s], NULL);
      atomic_store(&g_sig_loop[s], NULL);
    }
  }
  pthread_mutex_unlock(&g_sig_mu);
  /* tasks still queued run with loop == NULL so they can release ud */
  pthread_mutex_lock(&loop->post_mu);
  rt_task *t = loop->post_head;
  loop->post_head = loop->post_tail = NULL;
  pthread_mutex_unlock(&loop->post_mu);
  while (t) {
    rt_task *n = t->next;
    t->fn(NULL, t->ud);
    roam__free(&loop->mem, t);
    t = n;
  }
  /* remaining application watchers and timers */
  while (loop->ios) rt_io_release(loop->ios);
  free_grave(loop);
  while (loop->timers) roam_timer_free(loop->timers);
  if (loop->epfd >= 0) close(loop->epfd);
  if (loop->wake_rfd >= 0) close(loop->wake_rfd);
  if (loop->wake_wfd >= 0 && loop->wake_wfd != loop->wake_rfd) close(loop->wake_wfd);
  if (loop->sweep_fd >= 0) close(loop->sweep_fd);
  roam_mem mem = loop->mem;
  roam__free(&mem, loop->heap);
  roam__free(&mem, loop->pfds);
  roam__free(&mem, loop->pios);
  roam__free(&mem, loop->rbuf);
  pthread_mutex_destroy(&loop->post_mu);
  if (loop->driven) {
    if (loop->drv_deadline != UINT64_MAX) loop->drv.set_timer(loop->drv.ctx, UINT64_MAX);
    if (loop->drv.detach) loop->drv.detach(loop->drv.ctx);
  }
  roam__free(&mem, loop);
}

/* ------------------------------------------------------------------------ */
/* polling                                                                   */
/* ------------------------------------------------------------------------ */

static int poll_rebuild(roam_loop *loop) {
  size_t n = loop->nios;
  if (n > loop->pcap) {
    size_t nc = n + n / 2 + 16;
    struct pollfd *nf = roam__realloc(&loop->mem, loop->pfds, nc * sizeof(struct pollfd));
    if (!nf) return ROAM_ERR_NOMEM;
    loop->pfds = nf;
    roam_io **ni = roam__realloc(&loop->mem, loop->pios, nc * sizeof(roam_io *));
    if (!ni) return ROAM_ERR_NOMEM;
    loop->pios = ni;
    loop->pcap = nc;
  }
  loop->pdirty = false;
  return 0;
}

static int backend_wait(roam_loop *loop, int timeout) {
#if RT_HAVE_EPOLL
  if (loop->backend == ROAM_LOOP_BACKEND_EPOLL) {
    struct epoll_event evs[RT_MAX_EVENTS];
    int n = epoll_wait(loop->epfd, evs, RT_MAX_EVENTS, timeout);
    if (n < 0) return errno == EINTR ? 0 : ROAM_ERR_IO;
    loop->now = roam_now_ms();
    for (int i = 0; i < n; i++) {
      roam_io *io = evs[i].data.ptr;
      if (io->dead) continue;
      unsigned ev = 0;
      uint32_t e = evs[i].events;
      if (e & (EPOLLIN | EPOLLRDHUP)) ev |= ROAM_IO_READ;
      if (e & EPOLLOUT) ev |= ROAM_IO_WRITE;
      if (e & (EPOLLERR | EPOLLHUP)) ev |= ROAM_IO_ERROR;
      io->fn(io, io->fd, ev, io->ud);
    }
    return n;
  }
#endif
  if (loop->pdirty || loop->pcap < loop->nios) {
    int r = poll_rebuild(loop);
    if (r != 0) return r;
  }
  struct pollfd *pf = loop->pfds;
  size_t n = 0;
  for (roam_io *io = loop->ios; io; io = io->next) {
    if (!io->events) continue;
    pf[n].fd = io->fd;
    pf[n].events = (short)(((io->events & ROAM_IO_READ) ? POLLIN : 0) |
                           ((io->events & ROAM_IO_WRITE) ? POLLOUT : 0));
    pf[n].revents = 0;
    loop->pios[n] = io;
    n++;
  }
  int r = poll(pf, (nfds_t)n, timeout);
  if (r < 0) return errno == EINTR ? 0 : ROAM_ERR_IO;
  loop->now = roam_now_ms();
  int handled = 0;
  for (size_t i = 0; i < n && handled < r; i++) {
    if (!pf[i].revents) continue;
    handled++;
    roam_io *io = loop->pios[i];
    if (io->dead) continue;
    unsigned ev = 0;
    if (pf[i].revents & POLLIN) ev |= ROAM_IO_READ;
    if (pf[i].revents & POLLOUT) ev |= ROAM_IO_WRITE;
    if (pf[i].revents & (POLLERR | POLLHUP | POLLNVAL)) ev |= ROAM_IO_ERROR | (io->events & ROAM_IO_READ);
    io->fn(io, io->fd, ev, io->ud);
  }
  return r;
}

/* Phases before waiting. Returns the earliest deadline. */
static uint64_t prepare(roam_loop *loop) {
  uint64_t now = roam_now_ms();
  if (now > loop->now) loop->now = now;
  run_timers(loop);
  run_signals(loop);
  run_posted(loop);
  uint64_t dl = rt_links_timeouts(loop);
  rt_links_flush_dirty(loop);
  free_grave(loop);
  rt_links_reap(loop);
  if (loop->hn > 0 && loop->heap[0]->due < dl) dl = loop->heap[0]->due;
  return dl;
}

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Wait the way run_until does: poll for up to the current budget, yielding
 * between polls, then sleep. The budget halves after a poll that found
 * nothing and goes back to the maximum when a sleep ended within it (an
 * answer polling would have caught), like the kernel's guest halt polling. */
static int spin_wait(roam_loop *loop, int timeout) {
  uint64_t t0 = now_us();
  if (loop->spin_us) {
    uint64_t until = t0 + loop->spin_us;
    for (;;) {
      int n = backend_wait(loop, 0);
      if (n != 0) return n;
      if (now_us() >= until) break;
      sched_yield();
    }
    loop->spin_us /= 2;
    t0 = now_us();
  }
  int n = backend_wait(loop, timeout);
  if (n > 0 && now_us() - t0 <= loop->spin_max_us) loop->spin_us = loop->spin_max_us;
  return n;
}

static int iterate(roam_loop *loop, uint64_t timeout_ms, bool spin) {
  loop->iter++;
  uint64_t before = loop->activity;
  uint64_t dl = prepare(loop);
  int timeout;
  /* if callbacks ran, do not block: the caller of run_until must get to
   * test its condition */
  if (loop->activity != before || atomic_load(&loop->stop) || loop->dirty || loop->reap || has_posted(loop) ||
      atomic_load(&loop->sig_pending) || (loop->hn > 0 && loop->heap[0]->gen == loop->iter &&
                                          loop->heap[0]->due <= loop->now)) {
    timeout = 0;
  } else {
    uint64_t t = timeout_ms;
    if (dl != UINT64_MAX) {
      uint64_t until = dl > loop->now ? dl - loop->now : 0;
      if (until < t) t = until;
    }
    timeout = t == UINT64_MAX ? -1 : (t > 0x7fffffff ? 0x7fffffff : (int)t);
  }
  int n = spin && timeout != 0 && loop->spin_max_us ? spin_wait(loop, timeout)
                                                     : backend_wait(loop, timeout);
  if (n < 0) return n;
  /* answers produced while handling events leave now */
  rt_links_flush_dirty(loop);
  free_grave(loop);
  rt_links_reap(loop);
  return n;
}

static int enter(roam_loop *loop) {
  if (loop->driven || atomic_load(&loop->running)) return ROAM_ERR_STATE;
  loop->thread = pthread_self();
  atomic_store(&loop->running, 1);
  return 0;
}

static void leave(roam_loop *loop) { atomic_store(&loop->running, 0); }

int roam_loop_run_once(roam_loop *loop, uint64_t timeout_ms) {
  if (!loop) return ROAM_ERR_INVALID_ARG;
  int r = enter(loop);
  if (r) return r;
  r = iterate(loop, timeout_ms, false);
  leave(loop);
  return r;
}

int roam_loop_run(roam_loop *loop) {
  if (!loop) return ROAM_ERR_INVALID_ARG;
  int r = enter(loop);
  if (r) return r;
  int rc = 0;
  while (!atomic_load(&loop->stop)) {
    int n = iterate(loop, UINT64_MAX, false);
    if (n < 0) {
      rc = n;
      break;
    }
  }
  atomic_store(&loop->stop, false);
  leave(loop);
  return rc;
}

int roam_loop_run_until(roam_loop *loop, bool (*cond)(void *ud), void *ud,
                        uint64_t timeout_ms) {
  if (!loop || !cond) return ROAM_ERR_INVALID_ARG;
  int r = enter(loop);
  if (r) return r;
  uint64_t start = roam_now_ms();
  uint64_t deadline = timeout_ms == UINT64_MAX || timeout_ms > UINT64_MAX - start
                          ? UINT64_MAX
                          : start + timeout_ms;
  int rc = 0;
  for (;;) {
    /* flush what the caller queued before testing the condition */
    if (cond(ud)) break;
    if (atomic_load(&loop->stop)) {
      atomic_store(&loop->stop, false);
      rc = ROAM_ERR_CANCELLED;
      break;
    }
    uint64_t now = roam_now_ms();
    if (now >= deadline) {
      rc = ROAM_ERR_TIMEOUT;
      break;
    }
    int n = iterate(loop, deadline == UINT64_MAX ? UINT64_MAX : deadline - now, true);
    if (n < 0) {
      rc = n;
      break;
    }
  }
  /* Output the caller's last actions produced must not wait for the next
   * pump: flush it now (no blocking). */
  rt_links_flush_dirty(loop);
  leave(loop);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* driven by another event loop (roam/loop.h)                                */
/* ------------------------------------------------------------------------ */

int roam_loop_new_driven(roam_loop **out, const roam_loop_options *opts,
                         const roam_loop_driver *drv) {
  if (!out || !drv || !drv->watch || !drv->unwatch || !drv->set_timer)
    return ROAM_ERR_INVALID_ARG;
  return loop_create(out, opts, drv);
}

void *roam_io_driver_data(const roam_io *io) { return io ? io->drv_data : NULL; }
void roam_io_set_driver_data(roam_io *io, void *data) {
  if (io) io->drv_data = data;
}
roam_loop *roam_io_loop(const roam_io *io) { return io ? io->loop : NULL; }

void rt_loop_touch(roam_loop *loop) {
  if (!loop->driven || loop->in_drive || loop->poked || loop->freeing) return;
  loop->poked = true;
  loop->drv_deadline = 0;
  loop->drv.set_timer(loop->drv.ctx, 0);
}

static void drive_enter(roam_loop *loop) {
  if (loop->in_drive++ == 0) {
    atomic_store(&loop->running, 1);
    uint64_t now = roam_now_ms();
    if (now > loop->now) loop->now = now;
  }
}

/* The end of a driven iteration: what a roam_loop iteration does besides
 * waiting (timers, posted tasks, signals, session deadlines, flushing,
 * reaping), then the driver's timer is armed for the earliest deadline. */
static void drive_leave(roam_loop *loop) {
  if (loop->in_drive > 1) {
    loop->in_drive--;
    return;
  }
  loop->iter++;
  uint64_t dl = prepare(loop);
  bool more = loop->dirty || loop->reap || has_posted(loop) || atomic_load(&loop->sig_pending);
  uint64_t delay;
  if (more || dl <= loop->now)
    delay = 0;
  else
    delay = dl == UINT64_MAX ? UINT64_MAX : dl - loop->now;
  uint64_t at = delay == UINT64_MAX ? UINT64_MAX : loop->now + delay;
  loop->poked = false;
  loop->in_drive = 0;
  atomic_store(&loop->running, 0);
  if (at != loop->drv_deadline || delay == 0) {
    loop->drv_deadline = at;
    loop->drv.set_timer(loop->drv.ctx, delay);
  }
}

void roam_loop_drive_io(roam_io *io, unsigned events) {
  if (!io) return;
  roam_loop *loop = io->loop;
  drive_enter(loop);
  if (!io->dead) io->fn(io, io->fd, events, io->ud);
  /* answers produced by this event leave now */
  rt_links_flush_dirty(loop);
  drive_leave(loop);
}

void roam_loop_drive_timer(roam_loop *loop) {
  if (!loop) return;
  loop->drv_deadline = UINT64_MAX; /* it fired */
  drive_enter(loop);
  drive_leave(loop);
}

void roam_loop_drive_wake(roam_loop *loop) {
  if (!loop) return;
  drive_enter(loop);
  drive_leave(loop);
}
