/* Plain sockets for roam spy (net.h). */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

typedef struct parsed {
  bool is_unix;
  struct sockaddr_un un;
  socklen_t un_len;
  char host[256], port[16];
} parsed;

static int parse(const char *addr, parsed *p, char *err, size_t errcap) {
  memset(p, 0, sizeof *p);
  if (strncmp(addr, "unix:", 5) == 0) {
    const char *path = addr + 5;
    if (strncmp(path, "//", 2) == 0) path += 2;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof p->un.sun_path) {
      snprintf(err, errcap, "bad Unix socket address '%s'", addr);
      return -1;
    }
    p->is_unix = true;
    p->un.sun_family = AF_UNIX;
    memcpy(p->un.sun_path, path, n);
    if (path[0] == '@') p->un.sun_path[0] = 0; /* Linux abstract socket */
    p->un_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] != '@'));
    return 0;
  }
  if (strstr(addr, "://") && strncmp(addr, "tcp://", 6) != 0) {
    snprintf(err, errcap, "'%s': only tcp:// and unix: byte-stream addresses are supported here",
             addr);
    return -1;
  }
  const char *hp = strncmp(addr, "tcp://", 6) == 0 ? addr + 6 : addr;
  const char *colon = strrchr(hp, ':');
  if (!colon) {
    snprintf(err, errcap, "'%s' has no port (host:port)", addr);
    return -1;
  }
  size_t hl = (size_t)(colon - hp);
  if (hl >= 2 && hp[0] == '[' && hp[hl - 1] == ']') hp++, hl -= 2;
  if (hl >= sizeof p->host || strlen(colon + 1) >= sizeof p->port || !colon[1]) {
    snprintf(err, errcap, "bad address '%s'", addr);
    return -1;
  }
  memcpy(p->host, hp, hl);
  strcpy(p->port, colon + 1);
  return 0;
}

static void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int net_listen(const char *addr, char *bound, size_t boundcap, char *err, size_t errcap) {
  parsed p;
  if (parse(addr, &p, err, errcap)) return -1;
  if (p.is_unix) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) goto fail;
    if (p.un.sun_path[0]) unlink(p.un.sun_path); /* a stale socket file */
    if (bind(fd, (struct sockaddr *)&p.un, p.un_len) != 0 || listen(fd, SOMAXCONN) != 0) {
      int e = errno;
      close(fd);
      errno = e;
      goto fail;
    }
    snprintf(bound, boundcap, "%s", addr);
    return fd;
  }
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  const char *host = (!p.host[0] || !strcmp(p.host, "*")) ? NULL : p.host;
  int g = getaddrinfo(host, p.port, &hints, &res);
  if (g) {
    snprintf(err, errcap, "cannot resolve '%s': %s", addr, gai_strerror(g));
    return -1;
  }
  int fd = -1;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) goto fail;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  char h[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
    if (ss.ss_family == AF_INET) {
      struct sockaddr_in *in = (struct sockaddr_in *)&ss;
      inet_ntop(AF_INET, &in->sin_addr, h, sizeof h);
      port = ntohs(in->sin_port);
      snprintf(bound, boundcap, "tcp://%s:%d", h, port);
    } else {
      struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
      inet_ntop(AF_INET6, &in6->sin6_addr, h, sizeof h);
      port = ntohs(in6->sin6_port);
      snprintf(bound, boundcap, "tcp://[%s]:%d", h, port);
    }
  }
  return fd;
fail:
  snprintf(err, errcap, "cannot listen on '%s': %s", addr, strerror(errno));
  return -1;
}

/* Connect one socket within timeout_ms; 0 or errno. */
static int connect_one(int fd, const struct sockaddr *sa, socklen_t len, int timeout_ms) {
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  int rc = connect(fd, sa, len);
  int e = 0;
  if (rc != 0) {
    if (errno != EINPROGRESS) return errno;
    struct pollfd pf = {fd, POLLOUT, 0};
    int n;
    do {
      n = poll(&pf, 1, timeout_ms);
    } while (n < 0 && errno == EINTR);
    if (n == 0) return ETIMEDOUT;
    socklen_t el = sizeof e;
    if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0) return errno;
  }
  fcntl(fd, F_SETFL, fl);
  return e;
}

int net_connect(const char *addr, int timeout_ms, char *err, size_t errcap) {
  parsed p;
  if (parse(addr, &p, err, errcap)) return -1;
  int e = 0;
  if (p.is_unix) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      e = errno;
    } else if ((e = connect_one(fd, (struct sockaddr *)&p.un, p.un_len, timeout_ms)) == 0) {
      return fd;
    } else {
      close(fd);
    }
    snprintf(err, errcap, "cannot connect to %s: %s", addr, strerror(e));
    return -1;
  }
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int g = getaddrinfo(p.host, p.port, &hints, &res);
  if (g) {
    snprintf(err, errcap, "cannot resolve '%s': %s", addr, gai_strerror(g));
    return -1;
  }
  int fd = -1;
  e = ENOENT;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      e = errno;
      continue;
    }
    if ((e = connect_one(fd, ai->ai_addr, ai->ai_addrlen, timeout_ms)) == 0) break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    snprintf(err, errcap, "cannot connect to %s: %s", addr, strerror(e));
    return -1;
  }
  set_nodelay(fd);
  return fd;
}
