/*
 * Jobs: requests that any thread may answer. A job copies the request's
 * payload and stays on its link's list; the answer is copied by the
 * answering thread and posted to the link's loop, which sends it if the
 * link is still there. The request handle itself is touched on the loop
 * thread only.
 */
#include <string.h>

#include "rt_internal.h"

static void job_cancel_cb(roam_request *r, int why, void *ud) {
  (void)r, (void)why;
  roam_job *j = ud;
  atomic_store(&j->cancelled, true);
}

int roam_request_defer(roam_request *req, roam_job **out) {
  if (!req || !out) return ROAM_ERR_INVALID_ARG;
  roam_session *s = roam_request_session(req);
  roam_link *l = s ? roam_session_user_data(s) : NULL;
  if (!l || l->s != s) return ROAM_ERR_INVALID_ARG; /* not a runtime link's */
  roam_loop *loop = l->loop;
  roam_job *j = roam__calloc(&loop->mem, sizeof *j);
  if (!j) return ROAM_ERR_NOMEM;
  roam_bytes p = roam_request_payload(req);
  if (p.len) {
    j->payload = roam__malloc(&loop->mem, p.len);
    if (!j->payload) {
      roam__free(&loop->mem, j);
      return ROAM_ERR_NOMEM;
    }
    memcpy(j->payload, p.ptr, p.len);
  }
  j->len = p.len;
  j->mem = &loop->mem;
  j->loop = loop;
  j->link = l;
  j->req = req;
  j->method_id = roam_request_method_id(req);
  atomic_init(&j->cancelled, roam_request_is_cancelled(req));
  roam_request_set_cancel_cb(req, job_cancel_cb, j);
  j->l_next = l->jobs;
  if (l->jobs) l->jobs->l_prev = j;
  l->jobs = j;
  *out = j;
  return 0;
}

roam_bytes roam_job_payload(const roam_job *job) {
  roam_bytes b = {NULL, 0};
  if (job) {
    b.ptr = job->payload;
    b.len = job->len;
  }
  return b;
}

uint64_t roam_job_method_id(const roam_job *job) { return job ? job->method_id : 0; }

bool roam_job_is_cancelled(const roam_job *job) {
  return job && atomic_load(&((roam_job *)job)->cancelled);
}

void rt_jobs_link_gone(roam_link *l) {
  while (l->jobs) {
    roam_job *j = l->jobs;
    l->jobs = j->l_next;
    j->l_prev = j->l_next = NULL;
    j->link = NULL;
    j->req = NULL; /* freed with the session */
    atomic_store(&j->cancelled, true);
  }
}

static void job_free(roam_job *j) {
  const roam_mem *mem = j->mem;
  roam__free(mem, j->payload);
  roam__free(mem, j->resp);
  roam__free(mem, j);
}

/* Loop thread (or loop == NULL: the loop is being freed). */
static void deliver(roam_loop *loop, void *ud) {
  roam_job *j = ud;
  if (loop && j->req) {
    roam_request *req = j->req;
    roam_request_set_cancel_cb(req, NULL, NULL);
    int r;
    if (j->kind == 0)
      r = roam_request_respond_ok(req, j->resp, j->resp_len);
    else if (j->kind == 1)
      r = roam_request_respond_user_error(req, j->resp, j->resp_len);
    else
      r = roam_request_respond_error(req, j->err);
    if (r == ROAM_ERR_PAYLOAD_TOO_LARGE || r == ROAM_ERR_METADATA_LIMIT || r == ROAM_ERR_NOMEM ||
        r == ROAM_ERR_INVALID_ARG) {
      rt_log(loop, ROAM_LOG_WARN, "deferred answer of request %llu not sent: %s",
             (unsigned long long)roam_request_id(req), roam_strerror(r));
      roam_request_respond_error(req, ROAM_ERR_REMOTE_CANCELLED);
    }
  }
  if (j->link) {
    roam_link *l = j->link;
    if (j->l_prev)
      j->l_prev->l_next = j->l_next;
    else
      l->jobs = j->l_next;
    if (j->l_next) j->l_next->l_prev = j->l_prev;
  }
  job_free(j);
}

static int respond(roam_job *j, int kind, int err, const void *value, size_t len) {
  if (!j || (len && !value)) return ROAM_ERR_INVALID_ARG;
  uint8_t *copy = NULL;
  if (len) {
    copy = roam__malloc(j->mem, len);
    if (!copy) return ROAM_ERR_NOMEM;
    memcpy(copy, value, len);
  }
  roam__free(j->mem, j->resp);
  j->resp = copy;
  j->resp_len = len;
  j->kind = kind;
  j->err = err;
  if (rt_loop_on_thread(j->loop)) {
    rt_xchans_detach(j);
    deliver(j->loop, j);
    return 0;
  }
  rt_xchans_drain(j); /* the channels' values go first */
  rt_xchans_detach(j);
  return roam_loop_post(j->loop, deliver, j); /* j may be gone when it returns */
}

int roam_job_respond_ok(roam_job *job, const void *value, size_t len) {
  return respond(job, 0, 0, value, len);
}

int roam_job_respond_user_error(roam_job *job, const void *err, size_t len) {
  return respond(job, 1, 0, err, len);
}

int roam_job_respond_error(roam_job *job, int kind) {
  if (kind != ROAM_ERR_REMOTE_UNKNOWN_METHOD && kind != ROAM_ERR_REMOTE_INVALID_PAYLOAD &&
      kind != ROAM_ERR_REMOTE_CANCELLED)
    return ROAM_ERR_INVALID_ARG;
  return respond(job, 2, kind, NULL, 0);
}
