/* Address parsing and socket helpers. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "rt_internal.h"

static bool valid_port(const char *p, bool listen) {
  if (!*p || strlen(p) > 5) return false;
  unsigned long v = 0;
  for (const char *c = p; *c; c++) {
    if (*c < '0' || *c > '9') return false;
    v = v * 10 + (unsigned long)(*c - '0');
  }
  return v <= 65535 && (listen || v > 0);
}

/* "ws://host:port[/path]": TCP plus a WebSocket path ("/" when absent). */
static int parse_ws(const char *text, bool listen, rt_addr *out) {
  const char *auth = text + 5;
  const char *rb = auth[0] == '[' ? strchr(auth, ']') : NULL;
  const char *slash = strchr(rb ? rb : auth, '/');
  size_t alen = slash ? (size_t)(slash - auth) : strlen(auth);
  char hp[300];
  if (alen == 0 || alen >= sizeof hp) return ROAM_ERR_ADDRESS;
  memcpy(hp, auth, alen);
  hp[alen] = 0;
  if (strchr(hp, '/')) return ROAM_ERR_ADDRESS;
  int r = rt_addr_parse(hp, listen, out);
  if (r != 0) return r;
  if (out->kind != RT_ADDR_TCP) return ROAM_ERR_ADDRESS;
  const char *path = slash ? slash : "/";
  size_t n = strlen(path);
  if (n >= sizeof out->ws_path) return ROAM_ERR_ADDRESS;
  for (size_t i = 0; i < n; i++) /* printable, no spaces, no fragment */
    if ((unsigned char)path[i] <= 0x20 || path[i] == 0x7f || path[i] == '#')
      return ROAM_ERR_ADDRESS;
  out->ws = true;
  memcpy(out->ws_path, path, n + 1);
  return 0;
}

int rt_addr_parse(const char *text, bool listen, rt_addr *out) {
  if (!text || !out) return ROAM_ERR_INVALID_ARG;
  memset(out, 0, sizeof *out);
  if (strncmp(text, "ws://", 5) == 0) return parse_ws(text, listen, out);
  if (strncmp(text, "unix:", 5) == 0) {
    const char *p = text + 5;
    if (strncmp(p, "//", 2) == 0) p += 2; /* unix:///path */
    size_t n = strlen(p);
    if (n == 0 || n >= sizeof out->path) return ROAM_ERR_ADDRESS;
    if (p[0] == '@' && n < 2) return ROAM_ERR_ADDRESS;
    out->kind = RT_ADDR_UNIX;
    memcpy(out->path, p, n + 1);
    return 0;
  }
  const char *p = text;
  if (strncmp(p, "tcp://", 6) == 0) p += 6;
  size_t n = strlen(p);
  if (n == 0) return ROAM_ERR_ADDRESS;
  const char *host;
  size_t hlen;
  const char *port;
  if (p[0] == '[') {
    const char *rb = strchr(p, ']');
    if (!rb || rb[1] != ':') return ROAM_ERR_ADDRESS;
    host = p + 1;
    hlen = (size_t)(rb - host);
    port = rb + 2;
    if (hlen == 0) return ROAM_ERR_ADDRESS;
  } else {
    const char *colon = strrchr(p, ':');
    if (!colon) return ROAM_ERR_ADDRESS;
    host = p;
    hlen = (size_t)(colon - p);
    port = colon + 1;
    if (memchr(host, ':', hlen)) return ROAM_ERR_ADDRESS; /* v6 needs [] */
    if (memchr(host, '/', hlen)) return ROAM_ERR_ADDRESS;
  }
  if (hlen >= sizeof out->host) return ROAM_ERR_ADDRESS;
  if (!valid_port(port, listen)) return ROAM_ERR_ADDRESS;
  if (hlen == 1 && host[0] == '*') hlen = 0;
  if (hlen == 0 && !listen) return ROAM_ERR_ADDRESS;
  out->kind = RT_ADDR_TCP;
  memcpy(out->host, host, hlen);
  out->host[hlen] = 0;
  memcpy(out->port, port, strlen(port) + 1);
  return 0;
}

socklen_t rt_addr_unix_sockaddr(const rt_addr *a, struct sockaddr_storage *ss) {
  struct sockaddr_un *un = (struct sockaddr_un *)ss;
  memset(ss, 0, sizeof *ss);
  un->sun_family = AF_UNIX;
  size_t n = strlen(a->path);
  if (n >= sizeof un->sun_path) n = sizeof un->sun_path - 1;
  memcpy(un->sun_path, a->path, n);
  if (a->path[0] == '@') {
    un->sun_path[0] = 0; /* Linux abstract namespace */
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
  }
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

void rt_sockaddr_text(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap) {
  if (!cap) return;
  buf[0] = 0;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    char h[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &in->sin_addr, h, sizeof h);
    snprintf(buf, cap, "tcp://%s:%u", h, (unsigned)ntohs(in->sin_port));
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    char h[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &in6->sin6_addr, h, sizeof h);
    snprintf(buf, cap, "tcp://[%s]:%u", h, (unsigned)ntohs(in6->sin6_port));
  } else if (sa->sa_family == AF_UNIX) {
    const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
    size_t off = offsetof(struct sockaddr_un, sun_path);
    if ((size_t)len <= off) {
      snprintf(buf, cap, "unix:");
      return;
    }
    size_t n = (size_t)len - off;
    if (un->sun_path[0] == 0 && n > 1) {
      snprintf(buf, cap, "unix:@%.*s", (int)(n - 1), un->sun_path + 1);
    } else {
      snprintf(buf, cap, "unix:%.*s", (int)strnlen(un->sun_path, n), un->sun_path);
    }
  }
}

int rt_set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL, 0);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return ROAM_ERR_IO;
  int fdfl = fcntl(fd, F_GETFD, 0);
  if (fdfl >= 0) fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC);
  return 0;
}

void rt_tcp_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Is something listening on this Unix path? */
static bool unix_path_alive(const struct sockaddr_storage *ss, socklen_t len) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return true;
  int r = connect(fd, (const struct sockaddr *)ss, len);
  int e = errno;
  close(fd);
  return r == 0 || (e != ECONNREFUSED && e != ENOENT);
}

int rt_listen_socket(const rt_addr *a, int backlog, char *bound_text, size_t cap, int *port) {
  if (backlog <= 0) backlog = SOMAXCONN;
  if (port) *port = 0;
  if (a->kind == RT_ADDR_UNIX) {
    struct sockaddr_storage ss;
    socklen_t len = rt_addr_unix_sockaddr(a, &ss);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return ROAM_ERR_IO;
    if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
      int e = errno;
      struct stat st;
      if (e == EADDRINUSE && a->path[0] != '@' && stat(a->path, &st) == 0 &&
          S_ISSOCK(st.st_mode) && !unix_path_alive(&ss, len)) {
        unlink(a->path); /* stale socket file */
        if (bind(fd, (struct sockaddr *)&ss, len) == 0) goto bound;
        e = errno;
      }
      close(fd);
      errno = e;
      return e == EADDRINUSE ? ROAM_ERR_ADDRESS : ROAM_ERR_IO;
    }
  bound:
    if (listen(fd, backlog) != 0) {
      int e = errno;
      close(fd);
      errno = e;
      return ROAM_ERR_IO;
    }
    snprintf(bound_text, cap, "unix:%s", a->path);
    return fd;
  }
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  const char *host = a->host[0] ? a->host : NULL;
  if (!host) hints.ai_family = AF_INET;
  if (getaddrinfo(host, a->port, &hints, &res) != 0 || !res) return ROAM_ERR_ADDRESS;
  int fd = -1;
  int err = ROAM_ERR_ADDRESS;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      err = ROAM_ERR_IO;
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0) break;
    err = errno == EADDRINUSE ? ROAM_ERR_ADDRESS : ROAM_ERR_IO;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) return err;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
    rt_sockaddr_text((struct sockaddr *)&ss, len, bound_text, cap);
    if (port) {
      if (ss.ss_family == AF_INET)
        *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
      else if (ss.ss_family == AF_INET6)
        *port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
  }
  return fd;
}
