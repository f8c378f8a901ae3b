// A small roam client for browsers, over the native WebSocket, written from
// the protocol notes (postcard values, the twelve messages, Hello, calls,
// channels with credit). One roam message per binary WebSocket message.
//
//   const link = await RoamLink.connect("ws://127.0.0.1:9000/roam");
//   const payload = await link.call(ECHO, enc.str("hi"));  // Uint8Array
//   link.close();
//
// Enough for the Testbed's echo, sum and generate; not a full runtime (no
// virtual connections, no serving calls from the server).
"use strict";

// ---- postcard -------------------------------------------------------------

class Writer {
  constructor() { this.bytes = []; }
  u8(b) { this.bytes.push(b & 0xff); return this; }
  varint(n) { // unsigned LEB128; n: number or BigInt
    let v = BigInt(n);
    if (v < 0n) throw new RangeError("varint of a negative number");
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) b |= 0x80;
      this.bytes.push(b);
    } while (v !== 0n);
    return this;
  }
  zigzag(n) { const v = BigInt(n); return this.varint(v < 0n ? (-v * 2n) - 1n : v * 2n); }
  raw(u8s) { for (const b of u8s) this.bytes.push(b); return this; }
  bytes_(u8s) { return this.varint(u8s.length).raw(u8s); }
  str(s) { return this.bytes_(new TextEncoder().encode(s)); }
  done() { return Uint8Array.from(this.bytes); }
}

class Reader {
  constructor(u8s) { this.b = u8s; this.i = 0; }
  more() { return this.i < this.b.length; }
  u8() {
    if (this.i >= this.b.length) throw new Error("truncated");
    return this.b[this.i++];
  }
  varint() { // as BigInt
    let v = 0n, shift = 0n;
    for (let k = 0; k < 19; k++) {
      const b = this.u8();
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
    throw new Error("varint too long");
  }
  num() { return Number(this.varint()); }
  zigzag() { const v = this.varint(); return (v & 1n) ? -((v + 1n) >> 1n) : v >> 1n; }
  bytes() {
    const n = this.num();
    if (this.i + n > this.b.length) throw new Error("truncated");
    const out = this.b.subarray(this.i, this.i + n);
    this.i += n;
    return out;
  }
  str() { return new TextDecoder("utf-8", { fatal: true }).decode(this.bytes()); }
}

const enc = {
  str: (s) => new Writer().str(s).done(),
  i32: (n) => new Writer().zigzag(n).done(),
};

// ---- messages (discriminant, then fields) --------------------------------

const M = { Hello: 0, Connect: 1, Accept: 2, Reject: 3, Goodbye: 4, Request: 5, Response: 6,
            Cancel: 7, Data: 8, Close: 9, Reset: 10, Credit: 11 };

function encodeMessage(m) {
  const w = new Writer().varint(M[m.kind]);
  switch (m.kind) {
    case "Hello": return w.varint(1).varint(m.maxPayload).varint(m.credit).done(); // V2
    case "Goodbye": return w.varint(m.conn).str(m.reason).done();
    case "Request":
      w.varint(m.conn).varint(m.id).varint(m.method).varint(0); // no metadata
      w.varint(m.channels.length);
      for (const c of m.channels) w.varint(c);
      return w.bytes_(m.payload).done();
    case "Data": return w.varint(m.conn).varint(m.channel).bytes_(m.payload).done();
    case "Close": return w.varint(m.conn).varint(m.channel).done();
    case "Credit": return w.varint(m.conn).varint(m.channel).varint(m.bytes).done();
    default: throw new Error("cannot encode " + m.kind);
  }
}

function skipMetadata(r) {
  const n = r.num();
  for (let i = 0; i < n; i++) {
    r.str();
    const tag = r.num();
    if (tag === 0) r.str(); else if (tag === 1) r.bytes(); else if (tag === 2) r.varint();
    else throw new Error("bad metadata value");
  }
}

function decodeMessage(u8s) {
  const r = new Reader(u8s);
  const d = r.num();
  let m;
  switch (d) {
    case M.Hello: {
      const v = r.num();
      if (v !== 1) throw new Error("message.hello.unknown-version");
      m = { kind: "Hello", maxPayload: r.num(), credit: r.num() };
      break;
    }
    case M.Goodbye: m = { kind: "Goodbye", conn: r.varint(), reason: r.str() }; break;
    case M.Response: {
      m = { kind: "Response", conn: r.varint(), id: r.varint() };
      skipMetadata(r);
      const n = r.num();
      m.channels = [];
      for (let i = 0; i < n; i++) m.channels.push(r.varint());
      m.payload = r.bytes();
      break;
    }
    case M.Data: m = { kind: "Data", conn: r.varint(), channel: r.varint(), payload: r.bytes() }; break;
    case M.Close: m = { kind: "Close", conn: r.varint(), channel: r.varint() }; break;
    case M.Reset: m = { kind: "Reset", conn: r.varint(), channel: r.varint() }; break;
    case M.Credit: m = { kind: "Credit", conn: r.varint(), channel: r.varint(), bytes: r.num() }; break;
    case M.Request: case M.Connect: case M.Accept: case M.Reject: case M.Cancel:
      return { kind: Object.keys(M).find((k) => M[k] === d) }; // not used by this client
    default: throw new Error("message.unknown-variant");
  }
  if (r.more()) throw new Error("message.decode-error: trailing bytes");
  return m;
}

// ---- the link ---------------------------------------------------------------

const MAX_PAYLOAD = 1 << 20, INITIAL_CREDIT = 64 << 10;

class RoamLink {
  static connect(url) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      const link = new RoamLink(ws);
      ws.onopen = () => link.send({ kind: "Hello", maxPayload: MAX_PAYLOAD, credit: INITIAL_CREDIT });
      link.onReady = () => resolve(link);
      link.onFail = (e) => reject(e);
      ws.onerror = () => link.fail(new Error("WebSocket error"));
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.ready = false;
    this.nextId = 1n;        // request ids from 1
    this.nextChannel = 1n;   // we opened the link: odd channel ids
    this.calls = new Map();  // request id -> {resolve, reject}
    this.channels = new Map(); // channel id -> {onData, onClose, credit, waiters}
    ws.onmessage = (ev) => this.receive(ev);
    ws.onclose = (ev) => this.fail(new Error(`link closed (WebSocket ${ev.code})`));
  }

  send(m) { this.ws.send(encodeMessage(m)); }

  receive(ev) {
    if (!(ev.data instanceof ArrayBuffer)) return this.goodbye("transport.message.binary");
    let m;
    try { m = decodeMessage(new Uint8Array(ev.data)); } catch (e) {
      return this.goodbye(e.message.startsWith("message.") ? e.message : "message.decode-error");
    }
    if (!this.ready) {
      if (m.kind !== "Hello") return this.goodbye("message.hello.ordering");
      this.maxPayload = Math.min(MAX_PAYLOAD, m.maxPayload);
      this.credit = Math.min(INITIAL_CREDIT, m.credit);
      this.ready = true;
      return this.onReady();
    }
    switch (m.kind) {
      case "Response": {
        const c = this.calls.get(m.id);
        if (c) { this.calls.delete(m.id); c.resolve(m.payload); }
        break;
      }
      case "Data": {
        const ch = this.channels.get(m.channel);
        if (!ch) return this.goodbye("channeling.unknown");
        ch.received += m.payload.length;
        ch.onData(m.payload);
        // give back what was consumed once half the window is used
        if (ch.received >= this.credit / 2) {
          this.send({ kind: "Credit", conn: 0, channel: m.channel, bytes: ch.received });
          ch.received = 0;
        }
        break;
      }
      case "Close": case "Reset": {
        const ch = this.channels.get(m.channel);
        if (ch) { this.channels.delete(m.channel); ch.onClose(); }
        break;
      }
      case "Credit": {
        const ch = this.channels.get(m.channel);
        if (ch) ch.credit += m.bytes;
        break;
      }
      case "Goodbye": this.fail(new Error("Goodbye: " + m.reason)); break;
      default: break;
    }
  }

  goodbye(reason) {
    try { this.send({ kind: "Goodbye", conn: 0, reason }); } catch (e) { /* closing */ }
    this.ws.close(1000);
    this.fail(new Error("protocol violation by the peer: " + reason));
  }

  fail(err) {
    if (this.failed) return;
    this.failed = err;
    if (!this.ready && this.onFail) this.onFail(err);
    for (const c of this.calls.values()) c.reject(err);
    this.calls.clear();
  }

  // A call: resolves with the response payload (Result<T, RoamError>).
  call(method, payload, channels = []) {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    const p = new Promise((resolve, reject) => this.calls.set(id, { resolve, reject }));
    this.send({ kind: "Request", conn: 0, id, method, channels, payload });
    return p;
  }

  channel() { const c = this.nextChannel; this.nextChannel += 2n; return c; }

  // Our sending end: Data within the credit (values here are tiny), then Close.
  sendValues(channel, values) {
    let credit = this.credit;
    for (const v of values) {
      if (v.length > credit) throw new Error("out of credit (this client does not wait for it)");
      credit -= v.length;
      this.send({ kind: "Data", conn: 0, channel, payload: v });
    }
    this.send({ kind: "Close", conn: 0, channel });
  }

  // Our receiving end: collects values until Close.
  receiveValues(channel) {
    return new Promise((resolve) => {
      const got = [];
      this.channels.set(channel, { received: 0, onData: (v) => got.push(v), onClose: () => resolve(got) });
    });
  }

  close() {
    if (!this.failed) this.send({ kind: "Goodbye", conn: 0, reason: "" });
    this.ws.close(1000);
  }
}

const Testbed = {
  ECHO: 0x9aabc4ba61fd5df3n,
  SUM: 0x855b3a25d97bfefdn,
  GENERATE: 0x54d2273d8cdb9c38n,
};
