/*
 * The worker pool of a server: threads that run blocking handlers
 * (roam_server_handle_blocking), fed by a FIFO of jobs from every loop.
 */
#include <string.h>

#include "rt_internal.h"

struct rt_pool {
  const roam_mem *mem;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  roam_job *head, *tail;
  size_t queued;
  bool stop;
  pthread_t *threads;
  uint32_t n;
  atomic_ullong run;
};

static void *worker_main(void *arg) {
  rt_pool *p = arg;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->head && !p->stop) pthread_cond_wait(&p->cv, &p->mu);
    if (!p->head) break; /* stopping and nothing left to start */
    if (p->stop) break;  /* queued jobs are cancelled by rt_pool_free */
    roam_job *j = p->head;
    p->head = j->q_next;
    if (!p->head) p->tail = NULL;
    p->queued--;
    pthread_mutex_unlock(&p->mu);
    atomic_fetch_add_explicit(&p->run, 1, memory_order_relaxed);
    j->q_next = NULL;
    j->bfn(j, j->bud); /* owns j: answers it now or later */
    pthread_mutex_lock(&p->mu);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

int rt_pool_new(const roam_mem *mem, uint32_t threads, rt_pool **out) {
  if (threads == 0) threads = 4;
  rt_pool *p = roam__calloc(mem, sizeof *p);
  if (!p) return ROAM_ERR_NOMEM;
  p->mem = mem;
  p->threads = roam__calloc(mem, threads * sizeof *p->threads);
  if (!p->threads) {
    roam__free(mem, p);
    return ROAM_ERR_NOMEM;
  }
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  atomic_init(&p->run, 0);
  for (uint32_t i = 0; i < threads; i++) {
    if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0) break;
    p->n++;
  }
  if (p->n == 0) {
    rt_pool_free(p);
    return ROAM_ERR_IO;
  }
  *out = p;
  return 0;
}

int rt_pool_push(rt_pool *p, roam_job *job) {
  pthread_mutex_lock(&p->mu);
  if (p->stop) {
    pthread_mutex_unlock(&p->mu);
    return ROAM_ERR_STATE;
  }
  job->q_next = NULL;
  if (p->tail)
    p->tail->q_next = job;
  else
    p->head = job;
  p->tail = job;
  p->queued++;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
  return 0;
}

void rt_pool_free(rt_pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->stop = true;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  for (uint32_t i = 0; i < p->n; i++) pthread_join(p->threads[i], NULL);
  while (p->head) {
    roam_job *j = p->head;
    p->head = j->q_next;
    roam_job_respond_error(j, ROAM_ERR_REMOTE_CANCELLED);
  }
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  roam__free(p->mem, p->threads);
  roam__free(p->mem, p);
}

uint32_t rt_pool_threads(const rt_pool *p) { return p ? p->n : 0; }

size_t rt_pool_queued(rt_pool *p) {
  if (!p) return 0;
  pthread_mutex_lock(&p->mu);
  size_t n = p->queued;
  pthread_mutex_unlock(&p->mu);
  return n;
}

uint64_t rt_pool_run(rt_pool *p) {
  return p ? atomic_load_explicit(&p->run, memory_order_relaxed) : 0;
}
