/*
 * roam-gen: per service, the constants, client stubs and server handler
 * table (docs/roam-gen.md, "Output").
 */
#include <stdio.h>
#include <string.h>

#include "gen.h"

/* ", T1 a, T2 b" for the non-channel parameters. */
static void value_params(gen *g, sb *b, const gmethod *gm) {
  for (size_t a = 0; a < gm->m->nparams; a++)
    if (gm->chan[a] < 0)
      sb_printf(b, ", %s %s", arg_type(g, gm->ptypes[a]), gm->params[a]);
}

/* The result out-parameters of a blocking call. */
static void result_params(sb *b, const gmethod *gm) {
  if (gm->ok)
    sb_printf(b, ", %s *roam_out", gm->ok->cname);
  if (gm->err)
    sb_printf(b, ", %s *roam_err", gm->err->cname);
}

static bool has_result(const gmethod *gm) { return gm->ok || gm->err; }


/* The typed completion callback of an asynchronous call. */
static void cb_typedef(sb *h, const gmethod *gm) {
  sb_printf(h, "typedef void (*%s)(roam_client *roam_c, int roam_status", gm->n_cb);
  if (gm->ok)
    sb_printf(h, ", const %s *roam_out", gm->ok->cname);
  if (gm->err)
    sb_printf(h, ", const %s *roam_err", gm->err->cname);
  sb_puts(h, ", void *roam_ud);\n");
}

static void handler_type(gen *g, sb *b, const gmethod *gm, const char *name) {
  sb_printf(b, "void (*%s)(%s *roam_req", name, gm->n_req);
  value_params(g, b, gm);
  sb_puts(b, ", void *roam_ud)");
}

void emit_service_header(gen *g, sb *h) {
  for (size_t i = 0; i < g->f->nservices; i++) {
    gservice *gs = &g->services[i];
    const roam_schema_service *svc = gs->s;
    sb_printf(h, "/* ==== service %s ==== */\n\n", svc->name);
    sb_doc(h, svc->doc, 0);
    sb_printf(h, "#define %s \"%s\"\n#define %s %zu\n\n", gs->m_service, svc->name, gs->m_count,
              svc->nmethods);
    for (size_t j = 0; j < svc->nmethods; j++) {
      gmethod *gm = &gs->methods[j];
      sb_printf(h, "#define %s UINT64_C(0x%016llx)\n", gm->m_id, (unsigned long long)gm->m->id);
      if (gm->has_alt)
        sb_printf(h,
                  "/* the id a peer built from the literal roam-hash 0.6.0 code computes\n"
                  " * (a type used twice is back-referenced); served too */\n"
                  "#define %s UINT64_C(0x%016llx)\n",
                  gm->m_id_alt, (unsigned long long)gm->m->id_visited_set);
      sb_printf(h, "#define %s \"%s.%s\"\n", gm->m_name, svc->name, gm->m->name);
    }
    sb_printf(h,
              "\n/* Ids and \"Service.method\" names in declaration order. */\n"
              "extern const uint64_t %s[%s];\nextern const char *const %s[%s];\n\n",
              gs->n_ids, gs->m_count, gs->n_names, gs->m_count);

    /* ---- client ---- */
    sb_printf(h, "/* ---- %s: client (needs the runtime: not with ROAM_GEN_SESSION_ONLY) ---- */\n\n"
                 "#ifndef ROAM_GEN_SESSION_ONLY\n", svc->name);
    for (size_t j = 0; j < svc->nmethods; j++) {
      gmethod *gm = &gs->methods[j];
      sb_doc(h, gm->m->doc, 0);
      if (gm->nchan == 0) {
        sb_printf(h, "int %s(roam_client *roam_c", gm->fn);
        value_params(g, h, gm);
        result_params(h, gm);
        if (has_result(gm))
          sb_puts(h, ", roam_arena *roam_mem_arena");
        sb_puts(h, ", const roam_call_opts *roam_opts);\n");
        cb_typedef(h, gm);
        sb_printf(h, "int %s(roam_client *roam_c", gm->n_async);
        value_params(g, h, gm);
        sb_printf(h, ", const roam_call_opts *roam_opts, %s roam_cb, void *roam_ud);\n\n", gm->n_cb);
        continue;
      }
      sb_printf(h, "typedef struct %s {\n  roam_pending *roam_pending;\n", gm->n_call);
      for (size_t a = 0; a < gm->m->nparams; a++) {
        int k = gm->chan[a];
        if (k < 0)
          continue;
        ctype *el = gm->chan_elem[k];
        sb_printf(h, "  %s %s;\n", gm->chan_send[k] ? el->receiver : el->sender, gm->params[a]);
      }
      sb_printf(h, "} %s;\n", gm->n_call);
      sb_printf(h, "int %s(roam_client *roam_c", gm->n_start);
      value_params(g, h, gm);
      sb_printf(h, ", const roam_call_opts *roam_opts, %s *roam_call);\n", gm->n_call);
      sb_printf(h, "int %s(%s *roam_call", gm->n_finish, gm->n_call);
      result_params(h, gm);
      if (has_result(gm))
        sb_puts(h, ", roam_arena *roam_mem_arena");
      sb_puts(h, ", uint64_t roam_timeout_ms);\n");
      sb_printf(h, "void %s(%s *roam_call);\n", gm->n_abort, gm->n_call);
      cb_typedef(h, gm);
      sb_printf(h, "int %s(roam_client *roam_c", gm->n_async);
      value_params(g, h, gm);
      sb_printf(h, ", const roam_call_opts *roam_opts, %s *roam_call,\n    %s roam_cb, void *roam_ud);\n\n",
                gm->n_call, gm->n_cb);
    }

    sb_puts(h, "#endif /* ROAM_GEN_SESSION_ONLY */\n\n");
    /* ---- server ---- */
    sb_printf(h, "/* ---- %s: server ---- */\n\n", svc->name);
    for (size_t j = 0; j < svc->nmethods; j++) {
      gmethod *gm = &gs->methods[j];
      sb_printf(h, "typedef struct %s %s;\n", gm->n_req, gm->n_req);
    }
    sb_printf(h, "\n/* One handler per method; NULL answers Err(UnknownMethod). */\n"
                 "typedef struct %s {\n", gs->n_handlers);
    for (size_t j = 0; j < svc->nmethods; j++) {
      gmethod *gm = &gs->methods[j];
      sb_doc(h, gm->m->doc, 2);
      sb_puts(h, "  ");
      handler_type(g, h, gm, gm->h_member);
      sb_puts(h, ";\n");
    }
    sb_printf(h, "  void *user_data; /* the handlers' roam_ud */\n} %s;\n\n", gs->n_handlers);
    sb_printf(h,
              "/* Register every method of h (which must outlive the dispatcher or server)\n"
              " * and the method names for diagnostics. 0 or the first error. */\n"
              "int %s(roam_dispatcher *d, const %s *h);\n"
              "#ifndef ROAM_GEN_SESSION_ONLY\nint %s(roam_server *srv, const %s *h);\n#endif\n"
              "int %s(roam_gen_add_fn add, void *ctx, const %s *h);\n"
              "/* Only the names (for diagnostics dumps of a client). */\nvoid %s(void);\n\n",
              gs->n_register, gs->n_handlers, gs->n_register_server, gs->n_handlers,
              gs->n_register_with, gs->n_handlers, gs->n_register_names);
    for (size_t j = 0; j < svc->nmethods; j++) {
      gmethod *gm = &gs->methods[j];
      const char *R = gm->n_req;
      sb_printf(h, "/* %s.%s: answer (each releases the request) */\n", svc->name, gm->m->name);
      if (gm->ok)
        sb_printf(h, "int %s(%s *roam_req, %s roam_value);\n", gm->n_reply, R, arg_type(g, gm->ok));
      else
        sb_printf(h, "int %s(%s *roam_req);\n", gm->n_reply, R);
      if (gm->err)
        sb_printf(h, "int %s(%s *roam_req, %s roam_value);\n", gm->n_reply_err, R,
                  arg_type(g, gm->err));
      sb_printf(h,
                "static inline int %s(%s *roam_req, int roam_kind) {\n"
                "  return roam_gen_request_reply_error((roam_gen_request *)roam_req, roam_kind);\n}\n"
                "static inline void %s(%s *roam_req, void (*roam_fn)(void *ud), void *roam_ud) {\n"
                "  roam_gen_request_on_cancel((roam_gen_request *)roam_req, roam_fn, roam_ud);\n}\n"
                "static inline roam_request *%s(%s *roam_req) {\n"
                "  return roam_gen_request_raw((roam_gen_request *)roam_req);\n}\n"
                "static inline roam_arena *%s(%s *roam_req) {\n"
                "  return roam_gen_request_arena((roam_gen_request *)roam_req);\n}\n",
                gm->n_reply_error, R, gm->n_on_cancel, R, gm->n_raw, R, gm->n_arena, R);
      for (size_t a = 0; a < gm->m->nparams; a++) {
        int k = gm->chan[a];
        if (k < 0)
          continue;
        ctype *el = gm->chan_elem[k];
        if (gm->chan_send[k]) {
          sb_printf(h,
                    "int %s(%s *roam_req, void (*roam_on_writable)(void *ud),\n"
                    "    void (*roam_on_end)(int err, void *ud), void *roam_ud);\n"
                    "int %s(%s *roam_req, %s roam_value);\n",
                    gm->n_open[a], R, gm->n_send[a], R, arg_type(g, el));
        } else {
          sb_printf(h,
                    "int %s(%s *roam_req, %s roam_on_value,\n"
                    "    void (*roam_on_end)(int err, void *ud), void *roam_ud);\n",
                    gm->n_open[a], R, el->value_fn);
        }
        sb_printf(h, "int %s(%s *roam_req);\n", gm->n_close[a], R);
      }
      sb_puts(h, "\n");
    }
  }
}

/* ---- source ---- */

static void args_struct(gen *g, sb *c, const gmethod *gm) {
  sb_printf(c, "typedef struct %s__args {\n", gm->fn);
  if (gm->m->nparams == 0)
    sb_puts(c, "  uint8_t unused_;\n");
  for (size_t a = 0; a < gm->m->nparams; a++)
    sb_printf(c, "  %s %s;\n", gm->chan[a] >= 0 ? "uint64_t" : gm->ptypes[a]->cname,
              gm->params[a]);
  sb_printf(c, "} %s__args;\n\n", gm->fn);
  sb_printf(c, "static inline ROAM_GEN_UNUSED int %s__args_enc(roam_enc *e, const void *p) {\n  const %s__args *v = p;\n",
            gm->fn, gm->fn);
  if (gm->m->nparams == 0)
    sb_puts(c, "  (void)v;\n");
  for (size_t a = 0; a < gm->m->nparams; a++) {
    if (gm->chan[a] >= 0)
      sb_printf(c, "  roam_enc_u64(e, v->%s);\n", gm->params[a]);
    else
      sb_printf(c, "  %s__e_%s(e, &v->%s);\n", g->prefix, gm->ptypes[a]->fn, gm->params[a]);
  }
  sb_puts(c, "  return roam_enc_error(e);\n}\n\n");
}

/* roam_args.x = x; for the value parameters */
static void fill_args(gen *g, sb *c, const gmethod *gm) {
  sb_printf(c, "  %s__args roam_args;\n  memset(&roam_args, 0, sizeof roam_args);\n", gm->fn);
  for (size_t a = 0; a < gm->m->nparams; a++) {
    if (gm->chan[a] >= 0)
      continue;
    const ctype *ct = gm->ptypes[a];
    if (ct->scalar)
      sb_printf(c, "  roam_args.%s = %s;\n", gm->params[a], gm->params[a]);
    else if (ct->kind == CT_BOX)
      sb_printf(c, "  roam_args.%s = (%s)%s;\n", gm->params[a], ct->cname, gm->params[a]);
    else
      sb_printf(c, "  roam_args.%s = *%s;\n", gm->params[a], gm->params[a]);
  }
  (void)g;
}

/* Decode the reply value v into roam_out / roam_err. */
static void decode_result(gen *g, sb *c, const gmethod *gm, const char *arena) {
  if (gm->ok)
    sb_printf(c, "  if (roam_rc == 0 && roam_out != NULL)\n"
                 "    roam_rc = %s__decode_all(roam_v, %s__vd_%s, roam_out, %s);\n",
              g->prefix, g->prefix, gm->ok->fn, arena);
  if (gm->err)
    sb_printf(c, "  if (roam_rc == ROAM_ERR_REMOTE_USER && roam_err != NULL &&\n"
                 "      %s__decode_all(roam_v, %s__vd_%s, roam_err, %s) != 0)\n"
                 "    roam_rc = ROAM_ERR_BAD_RESPONSE;\n",
              g->prefix, g->prefix, gm->err->fn, arena);
}

/* The asynchronous call's completion: decode the reply, call the typed
 * callback. */
static void emit_done(gen *g, sb *c, const gmethod *gm) {
  sb_printf(c, "static void %s__done(roam_client *roam_c, int roam_rc, roam_bytes roam_v,\n"
               "                     void (*roam_typed)(void), void *roam_ud) {\n"
               "  %s roam_cb = (%s)roam_typed;\n",
            gm->fn, gm->n_cb, gm->n_cb);
  if (has_result(gm))
    sb_puts(c, "  max_align_t roam_buf[32];\n  roam_arena roam_a;\n"
               "  roam_arena_init_buffer(&roam_a, roam_buf, sizeof roam_buf, roam_gen_client_mem(roam_c));\n"
               "  roam_arena_set_limit(&roam_a, ROAM_GEN_ARENA_LIMIT);\n");
  if (gm->ok)
    sb_printf(c, "  %s roam_ok, *roam_out = &roam_ok;\n", gm->ok->cname);
  if (gm->err)
    sb_printf(c, "  %s roam_e, *roam_err = &roam_e;\n", gm->err->cname);
  decode_result(g, c, gm, "&roam_a");
  sb_puts(c, "  roam_cb(roam_c, roam_rc");
  if (gm->ok)
    sb_puts(c, ", roam_rc == 0 ? roam_out : NULL");
  if (gm->err)
    sb_puts(c, ", roam_rc == ROAM_ERR_REMOTE_USER ? roam_err : NULL");
  sb_puts(c, ", roam_ud);\n");
  if (has_result(gm))
    sb_puts(c, "  roam_arena_free(&roam_a);\n");
  else
    sb_puts(c, "  (void)roam_v;\n");
  sb_puts(c, "}\n\n");
}

/* The channel directions of a call (from the caller's side) and room for
 * its channel handles: the locals of every client stub with channels. */
static void emit_chan_locals(sb *c, const gmethod *gm) {
  sb_printf(c, "  static const roam_chan_dir roam_dirs[%zu] = {", gm->nchan);
  for (size_t k = 0; k < gm->nchan; k++)
    sb_printf(c, "%s%s", k ? ", " : "", gm->chan_send[k] ? "ROAM_CHAN_RECV" : "ROAM_CHAN_SEND");
  sb_printf(c, "};\n  roam_chan *roam_chans[%zu];\n", gm->nchan);
}

static void emit_client(gen *g, sb *c, gservice *gs, gmethod *gm) {
  const char *id = gm->m_id;
  (void)gs;
  if (gm->nchan == 0) {
    /* blocking */
    sb_printf(c, "int %s(roam_client *roam_c", gm->fn);
    value_params(g, c, gm);
    result_params(c, gm);
    if (has_result(gm))
      sb_puts(c, ", roam_arena *roam_mem_arena");
    sb_puts(c, ", const roam_call_opts *roam_opts) {\n");
    fill_args(g, c, gm);
    sb_puts(c, "  roam_bytes roam_v;\n");
    if (has_result(gm)) {
      sb_printf(c, "  if (roam_mem_arena == NULL)\n    return ROAM_ERR_INVALID_ARG;\n"
                   "  int roam_rc = roam_gen_call(roam_c, %s, %s__args_enc, &roam_args, roam_opts,\n"
                   "                              roam_mem_arena, &roam_v);\n",
                id, gm->fn);
      decode_result(g, c, gm, "roam_mem_arena");
    } else {
      sb_printf(c, "  int roam_rc = roam_gen_call(roam_c, %s, %s__args_enc, &roam_args, roam_opts,\n"
                   "                              NULL, &roam_v);\n  (void)roam_v;\n",
                id, gm->fn);
    }
    sb_puts(c, "  return roam_rc;\n}\n\n");
    /* asynchronous */
    emit_done(g, c, gm);
    sb_printf(c, "int %s(roam_client *roam_c", gm->n_async);
    value_params(g, c, gm);
    sb_printf(c, ", const roam_call_opts *roam_opts, %s roam_cb, void *roam_ud) {\n", gm->n_cb);
    fill_args(g, c, gm);
    sb_printf(c, "  if (roam_cb == NULL)\n    return ROAM_ERR_INVALID_ARG;\n"
                 "  return roam_gen_call_async(roam_c, %s, %s__args_enc, &roam_args, roam_opts,\n"
                 "                             %s__done, (void (*)(void))roam_cb, roam_ud);\n}\n\n",
              id, gm->fn, gm->fn);
    return;
  }
  /* with channels: start / finish / abort */
  sb_printf(c, "int %s(roam_client *roam_c", gm->n_start);
  value_params(g, c, gm);
  sb_printf(c, ", const roam_call_opts *roam_opts, %s *roam_call) {\n", gm->n_call);
  emit_chan_locals(c, gm);
  sb_puts(c, "  if (roam_call == NULL)\n    return ROAM_ERR_INVALID_ARG;\n"
             "  memset(roam_call, 0, sizeof *roam_call);\n");
  fill_args(g, c, gm);
  sb_printf(c, "  int roam_rc = roam_gen_open_channels(roam_c, roam_opts, roam_dirs, %zu, roam_chans);\n"
               "  if (roam_rc != 0)\n    return roam_rc;\n",
            gm->nchan);
  for (size_t a = 0; a < gm->m->nparams; a++)
    if (gm->chan[a] >= 0)
      sb_printf(c, "  roam_args.%s = roam_chan_id(roam_chans[%d]);\n", gm->params[a], gm->chan[a]);
  sb_printf(c, "  roam_rc = roam_gen_call_start(roam_c, %s, %s__args_enc, &roam_args, roam_opts,\n"
               "                               roam_chans, %zu, &roam_call->roam_pending);\n"
               "  if (roam_rc != 0) {\n    for (size_t i = 0; i < %zu; i++)\n"
               "      roam_chan_free(roam_chans[i]);\n    return roam_rc;\n  }\n",
            id, gm->fn, gm->nchan, gm->nchan);
  for (size_t a = 0; a < gm->m->nparams; a++)
    if (gm->chan[a] >= 0)
      sb_printf(c, "  roam_call->%s.chan = roam_chans[%d];\n", gm->params[a], gm->chan[a]);
  sb_puts(c, "  return 0;\n}\n\n");

  sb_printf(c, "static void %s__free_chans(%s *roam_call) {\n", gm->fn, gm->n_call);
  for (size_t a = 0; a < gm->m->nparams; a++)
    if (gm->chan[a] >= 0)
      sb_printf(c, "  roam_chan_free(roam_call->%s.chan);\n  roam_call->%s.chan = NULL;\n",
                gm->params[a], gm->params[a]);
  sb_puts(c, "}\n\n");

  sb_printf(c, "int %s(%s *roam_call", gm->n_finish, gm->n_call);
  result_params(c, gm);
  if (has_result(gm))
    sb_puts(c, ", roam_arena *roam_mem_arena");
  sb_puts(c, ", uint64_t roam_timeout_ms) {\n  roam_bytes roam_v;\n");
  if (!has_result(gm))
    sb_puts(c, "  roam_arena *roam_mem_arena = NULL; /* no value to keep */\n");
  sb_printf(c, "  if (roam_call == NULL || roam_call->roam_pending == NULL%s)\n",
            has_result(gm) ? " || roam_mem_arena == NULL" : "");
  sb_puts(c, 
             "    return ROAM_ERR_INVALID_ARG;\n"
             "  int roam_rc = roam_gen_call_finish(roam_call->roam_pending, roam_timeout_ms, roam_mem_arena, &roam_v);\n"
             "  if (roam_rc == ROAM_ERR_TIMEOUT && roam_call->roam_pending != NULL &&\n"
             "      !roam_pending_done(roam_call->roam_pending))\n    return roam_rc;\n"
             "  roam_call->roam_pending = NULL;\n");
  sb_printf(c, "  %s__free_chans(roam_call);\n", gm->fn);
  decode_result(g, c, gm, "roam_mem_arena");
  if (!has_result(gm))
    sb_puts(c, "  (void)roam_v;\n");
  sb_puts(c, "  return roam_rc;\n}\n\n");

  sb_printf(c, "void %s(%s *roam_call) {\n  if (roam_call == NULL)\n    return;\n"
               "  roam_pending_free(roam_call->roam_pending);\n  roam_call->roam_pending = NULL;\n"
               "  %s__free_chans(roam_call);\n}\n\n",
            gm->n_abort, gm->n_call, gm->fn);

  /* asynchronous with channels: the handles at once, the result later */
  emit_done(g, c, gm);
  sb_printf(c, "int %s(roam_client *roam_c", gm->n_async);
  value_params(g, c, gm);
  sb_printf(c, ", const roam_call_opts *roam_opts, %s *roam_call,\n    %s roam_cb, void *roam_ud) {\n",
            gm->n_call, gm->n_cb);
  emit_chan_locals(c, gm);
  sb_puts(c, "  if (roam_call == NULL || roam_cb == NULL)\n    return ROAM_ERR_INVALID_ARG;\n"
             "  memset(roam_call, 0, sizeof *roam_call);\n");
  fill_args(g, c, gm);
  sb_printf(c, "  if (!roam_client_is_ready(roam_c))\n    return roam_c == NULL ? ROAM_ERR_INVALID_ARG : ROAM_ERR_STATE;\n"
               "  int roam_rc = roam_gen_open_channels(roam_c, roam_opts, roam_dirs, %zu, roam_chans);\n"
               "  if (roam_rc != 0)\n    return roam_rc;\n",
            gm->nchan);
  for (size_t a = 0; a < gm->m->nparams; a++)
    if (gm->chan[a] >= 0)
      sb_printf(c, "  roam_args.%s = roam_chan_id(roam_chans[%d]);\n", gm->params[a], gm->chan[a]);
  sb_printf(c, "  roam_rc = roam_gen_call_async_chans(roam_c, %s, %s__args_enc, &roam_args, roam_opts,\n"
               "                                   roam_chans, %zu, %s__done,\n"
               "                                   (void (*)(void))roam_cb, roam_ud);\n"
               "  if (roam_rc != 0) {\n    for (size_t i = 0; i < %zu; i++)\n"
               "      roam_chan_free(roam_chans[i]);\n    return roam_rc;\n  }\n",
            id, gm->fn, gm->nchan, gm->fn, gm->nchan);
  for (size_t a = 0; a < gm->m->nparams; a++)
    if (gm->chan[a] >= 0)
      sb_printf(c, "  roam_call->%s.chan = roam_chans[%d];\n", gm->params[a], gm->chan[a]);
  sb_puts(c, "  return 0;\n}\n\n");
}

/* Diagnostic arguments for parameters that print simply. */
static void diag_args(sb *c, const gmethod *gm) {
  for (size_t a = 0; a < gm->m->nparams; a++) {
    if (gm->chan[a] >= 0) {
      sb_printf(c, "  roam_gen_request_diag_u64(roam_g, \"%s\", roam_request_channel_id(roam_r, %d));\n",
                gm->m->params[a].name, gm->chan[a]);
      continue;
    }
    const ctype *ct = gm->ptypes[a];
    if (ct->kind != CT_PRIM)
      continue;
    const char *fn = NULL;
    switch (ct->prim) {
    case ROAM_SCHEMA_STRING: fn = "str"; break;
    case ROAM_SCHEMA_BOOL:
    case ROAM_SCHEMA_U8:
    case ROAM_SCHEMA_U16:
    case ROAM_SCHEMA_U32:
    case ROAM_SCHEMA_U64:
    case ROAM_SCHEMA_CHAR: fn = "u64"; break;
    case ROAM_SCHEMA_I8:
    case ROAM_SCHEMA_I16:
    case ROAM_SCHEMA_I32:
    case ROAM_SCHEMA_I64: fn = "i64"; break;
    case ROAM_SCHEMA_F32:
    case ROAM_SCHEMA_F64: fn = "f64"; break;
    default: break;
    }
    if (fn)
      sb_printf(c, "  roam_gen_request_diag_%s(roam_g, \"%s\", roam_args->%s);\n", fn,
                gm->m->params[a].name, gm->params[a]);
  }
}

static void emit_server(gen *g, sb *c, gservice *gs, gmethod *gm) {
  const char *R = gm->n_req;
  sb_printf(c, "static void %s__dispatch(roam_session *roam_s, roam_request *roam_r, void *roam_ud) {\n"
               "  const %s *roam_h = roam_ud;\n  (void)roam_s;\n"
               "  if (roam_h->%s == NULL) {\n"
               "    roam_request_respond_error(roam_r, ROAM_ERR_REMOTE_UNKNOWN_METHOD);\n    return;\n  }\n"
               "  roam_gen_request *roam_g = roam_gen_request_new(roam_r, %zu);\n"
               "  if (roam_g == NULL)\n    return;\n"
               "  roam_arena *roam_a = roam_gen_request_arena(roam_g);\n"
               "  %s__args *roam_args = roam_arena_alloc(roam_a, sizeof *roam_args);\n"
               "  if (roam_args == NULL) {\n"
               "    roam_gen_request_reply_error(roam_g, ROAM_ERR_REMOTE_CANCELLED);\n    return;\n  }\n"
               "  roam_dec roam_d;\n  roam_gen_request_args(roam_g, &roam_d);\n  int roam_rc = 0;\n",
            gm->fn, gs->n_handlers, gm->h_member, gm->nchan, gm->fn);
  for (size_t a = 0; a < gm->m->nparams; a++) {
    if (gm->chan[a] >= 0)
      sb_printf(c, "  if (roam_rc == 0)\n    roam_rc = roam_dec_u64(&roam_d, &roam_args->%s);\n",
                gm->params[a]);
    else
      sb_printf(c, "  if (roam_rc == 0)\n    roam_rc = %s__d_%s(&roam_d, &roam_args->%s, roam_a, 0);\n",
                g->prefix, gm->ptypes[a]->fn, gm->params[a]);
  }
  sb_puts(c, "  if (roam_rc == 0)\n    roam_rc = roam_dec_finish(&roam_d);\n");
  if (gm->nchan)
    sb_printf(c, "  if (roam_rc == 0 && roam_request_channel_count(roam_r) < %zu)\n"
                 "    roam_rc = ROAM_ERR_DECODE; /* Request.channels is authoritative */\n",
              gm->nchan);
  sb_puts(c, "  if (roam_rc != 0) {\n    roam_gen_request_invalid(roam_g);\n    return;\n  }\n");
  diag_args(c, gm);
  sb_printf(c, "  roam_h->%s((%s *)roam_g", gm->h_member, R);
  for (size_t a = 0; a < gm->m->nparams; a++) {
    if (gm->chan[a] >= 0)
      continue;
    const ctype *ct = gm->ptypes[a];
    sb_printf(c, ", %sroam_args->%s", ct->scalar || ct->kind == CT_BOX ? "" : "&", gm->params[a]);
  }
  sb_puts(c, ", roam_h->user_data);\n}\n\n");

  /* replies */
  if (gm->ok)
    sb_printf(c, "int %s(%s *roam_req, %s roam_value) {\n"
                 "  return roam_gen_request_reply((roam_gen_request *)roam_req, false, %s__ve_%s, %s);\n}\n\n",
              gm->n_reply, R, arg_type(g, gm->ok), g->prefix, gm->ok->fn,
              arg_ptr(g, gm->ok, "roam_value"));
  else
    sb_printf(c, "int %s(%s *roam_req) {\n"
                 "  return roam_gen_request_reply((roam_gen_request *)roam_req, false, NULL, NULL);\n}\n\n",
              gm->n_reply, R);
  if (gm->err)
    sb_printf(c, "int %s(%s *roam_req, %s roam_value) {\n"
                 "  return roam_gen_request_reply((roam_gen_request *)roam_req, true, %s__ve_%s, %s);\n}\n\n",
              gm->n_reply_err, R, arg_type(g, gm->err), g->prefix, gm->err->fn,
              arg_ptr(g, gm->err, "roam_value"));
  /* channels */
  for (size_t a = 0; a < gm->m->nparams; a++) {
    int k = gm->chan[a];
    if (k < 0)
      continue;
    ctype *el = gm->chan_elem[k];
    if (gm->chan_send[k]) {
      sb_printf(c, "int %s(%s *roam_req, void (*roam_on_writable)(void *ud),\n"
                   "    void (*roam_on_end)(int err, void *ud), void *roam_ud) {\n"
                   "  return roam_gen_request_open_send((roam_gen_request *)roam_req, %d, roam_on_writable,\n"
                   "                                    roam_on_end, roam_ud);\n}\n\n"
                   "int %s(%s *roam_req, %s roam_value) {\n"
                   "  return roam_gen_request_send((roam_gen_request *)roam_req, %d, %s__ve_%s, %s);\n}\n\n",
                gm->n_open[a], R, k, gm->n_send[a], R, arg_type(g, el), k, g->prefix, el->fn,
                arg_ptr(g, el, "roam_value"));
    } else {
      sb_printf(c, "static int %s__deliver_%s(roam_bytes roam_v, const roam_mem *roam_m,\n"
                   "    void (*roam_typed)(void), void *roam_ud) {\n"
                   "  max_align_t roam_buf[16];\n  roam_arena roam_a;\n"
                   "  roam_arena_init_buffer(&roam_a, roam_buf, sizeof roam_buf, roam_m);\n"
                   "  roam_arena_set_limit(&roam_a, ROAM_GEN_ARENA_LIMIT);\n"
                   "  %s roam_value;\n"
                   "  int roam_rc = %s__decode_all(roam_v, %s__vd_%s, &roam_value, &roam_a);\n"
                   "  if (roam_rc == 0)\n    roam_rc = ((%s)roam_typed)(%sroam_value, roam_ud);\n"
                   "  roam_arena_free(&roam_a);\n  return roam_rc;\n}\n\n",
                gm->fn, gm->params[a], el->cname, g->prefix, g->prefix, el->fn, el->value_fn,
                el->scalar || el->kind == CT_BOX ? "" : "&");
      sb_printf(c, "int %s(%s *roam_req, %s roam_on_value,\n"
                   "    void (*roam_on_end)(int err, void *ud), void *roam_ud) {\n"
                   "  if (roam_on_value == NULL)\n    return ROAM_ERR_INVALID_ARG;\n"
                   "  return roam_gen_request_open_recv((roam_gen_request *)roam_req, %d,\n"
                   "                                    %s__deliver_%s, (void (*)(void))roam_on_value,\n"
                   "                                    roam_on_end, roam_ud);\n}\n\n",
                gm->n_open[a], R, el->value_fn, k, gm->fn, gm->params[a]);
    }
    sb_printf(c, "int %s(%s *roam_req) {\n"
                 "  return roam_gen_request_close((roam_gen_request *)roam_req, %d);\n}\n\n",
              gm->n_close[a], R, k);
  }
}

void emit_service_source(gen *g, sb *c) {
  bool any_result = false;
  for (size_t i = 0; i < g->f->nservices; i++)
    for (size_t j = 0; j < g->f->services[i].nmethods; j++) {
      gmethod *gm = &g->services[i].methods[j];
      any_result = any_result || has_result(gm);
      for (size_t k = 0; k < gm->nchan; k++)
        any_result = any_result || !gm->chan_send[k];
    }
  if (any_result)
    sb_printf(c,
              "/* Decode a whole reply value (trailing bytes are an error). */\n"
              "static inline ROAM_GEN_UNUSED int %s__decode_all(roam_bytes v, int (*fn)(roam_dec *, void *, roam_arena *),\n"
              "                          void *out, roam_arena *a) {\n"
              "  roam_dec d;\n  roam_dec_init(&d, v.ptr, v.len);\n  int rc = fn(&d, out, a);\n"
              "  if (rc == 0)\n    rc = roam_dec_finish(&d);\n"
              "  return rc == 0 ? 0 : ROAM_ERR_BAD_RESPONSE;\n}\n\n",
              g->prefix);
  for (size_t i = 0; i < g->f->nservices; i++) {
    gservice *gs = &g->services[i];
    const roam_schema_service *svc = gs->s;
    sb_printf(c, "/* ==== service %s ==== */\n\n", svc->name);
    sb_printf(c, "const uint64_t %s[%s] = {", gs->n_ids, gs->m_count);
    for (size_t j = 0; j < svc->nmethods; j++)
      sb_printf(c, "%s%s", j ? ", " : "", gs->methods[j].m_id);
    sb_printf(c, "};\nconst char *const %s[%s] = {", gs->n_names, gs->m_count);
    for (size_t j = 0; j < svc->nmethods; j++)
      sb_printf(c, "%s%s", j ? ", " : "", gs->methods[j].m_name);
    sb_puts(c, "};\n\n");
    for (size_t j = 0; j < svc->nmethods; j++) {
      gmethod *gm = &gs->methods[j];
      args_struct(g, c, gm);
      sb_puts(c, "#ifndef ROAM_GEN_SESSION_ONLY\n");
      emit_client(g, c, gs, gm);
      sb_puts(c, "#endif /* ROAM_GEN_SESSION_ONLY */\n\n");
      emit_server(g, c, gs, gm);
    }
    /* registration */
    sb_printf(c, "void %s(void) {\n", gs->n_register_names);
    for (size_t j = 0; j < svc->nmethods; j++) {
      gmethod *gm = &gs->methods[j];
      sb_printf(c, "  roam_diag_set_method_name(%s, %s);\n", gm->m_id, gm->m_name);
      if (gm->has_alt)
        sb_printf(c, "  roam_diag_set_method_name(%s, %s);\n", gm->m_id_alt, gm->m_name);
    }
    sb_puts(c, "}\n\n");
    sb_printf(c, "int %s(roam_gen_add_fn add, void *ctx, const %s *h) {\n"
                 "  if (add == NULL || h == NULL)\n    return ROAM_ERR_INVALID_ARG;\n  int rc;\n",
              gs->n_register_with, gs->n_handlers);
    for (size_t j = 0; j < svc->nmethods; j++) {
      gmethod *gm = &gs->methods[j];
      sb_printf(c, "  if ((rc = add(ctx, %s, %s__dispatch, (void *)h)) != 0)\n    return rc;\n",
                gm->m_id, gm->fn);
      if (gm->has_alt)
        sb_printf(c, "  if ((rc = add(ctx, %s, %s__dispatch, (void *)h)) != 0)\n    return rc;\n",
                  gm->m_id_alt, gm->fn);
    }
    sb_printf(c, "  %s();\n  return 0;\n}\n\n", gs->n_register_names);
    sb_printf(c, "int %s(roam_dispatcher *d, const %s *h) {\n"
                 "  return %s(roam_gen_add_dispatcher, d, h);\n}\n\n"
                 "#ifndef ROAM_GEN_SESSION_ONLY\nint %s(roam_server *srv, const %s *h) {\n"
                 "  return %s(roam_gen_add_server, srv, h);\n}\n#endif\n\n",
              gs->n_register, gs->n_handlers, gs->n_register_with, gs->n_register_server,
              gs->n_handlers, gs->n_register_with);
  }
}
