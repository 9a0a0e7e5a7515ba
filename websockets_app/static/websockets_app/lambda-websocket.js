/*
 * LambdaWebSocket: a browser WebSocket made for API Gateway WebSocket APIs (and the local emulator).
 *
 * API Gateway closes a connection after 10 idle minutes and after 2 hours in any case, and connections drop.
 * This client hides that from the page: it reconnects with exponential back-off and jitter, sends a heartbeat
 * before the idle timeout, opens a fresh connection before the 2-hour limit and swaps it in, and queues what is
 * sent while no connection is open. Messages are JSON objects with an action: send("sendmessage", {message}).
 *
 * Message routes are two-way: what the handler returns comes back to the sender. request() sends a message with an
 * "id" and resolves with the handler's reply to it; send() is fire-and-forget. Error frames ({"error": {status,
 * message}}) reject the request they answer; those that answer no request arrive as "error" events.
 *
 *   const socket = new LambdaWebSocket(url);        // url comes from the server, never hard-coded
 *   socket.addEventListener("message", (event) => console.log(event.detail));
 *   socket.addEventListener("error", (event) => ...); // event.detail: {status, message} (or API Gateway's own)
 *   socket.addEventListener("open", () => ...);     // also after each reconnection (event.detail.renewed)
 *   socket.addEventListener("close", (event) => ...); // event.detail: {code, reason, reconnecting}
 *   socket.send("sendmessage", {message: "hello"});
 *   const me = await socket.request("whoami", {}, {timeout: 5000}); // rejects with a RequestError
 *
 * A connect token (?token=) connects once. Give a function instead of the URL and it is asked for a fresh URL
 * before every connection (reconnections and renewals included); it may return a Promise:
 *
 *   new LambdaWebSocket(async () => `${url}?token=${await freshConnectToken()}`);
 *
 * With a plain URL that carries ?token=, the client does not reconnect or renew with the spent token: after its
 * connection closes it stops (close event with reconnecting: false).
 *
 * Channels with history (docs: history-presence) number their messages. The client remembers the last number it
 * saw per channel, asks for what it missed after every reconnection or renewal (a request()), delivers it in order
 * before newer messages, each exactly once (duplicates are dropped by message id), and says "reset" when the gap is
 * older than what the server keeps. It also keeps who is in a channel:
 *
 *   socket.history("lobby", {last: 20});               // the recent messages, as "message" events
 *   socket.addEventListener("message", (event) => event.history); // {channel, seq, id, at, replayed} or undefined
 *   socket.addEventListener("resumed", (event) => ...); // event.detail: {channel, missed}
 *   socket.addEventListener("reset", (event) => ...);   // missed messages are gone: reload what the page shows
 *   socket.presence("lobby");                           // then "presence" events: {channel, users, anonymous, change}
 *
 * No build step: include it with <script src="{% static 'websockets_app/lambda-websocket.js' %}">.
 */
(function (global) {
  "use strict";

  const DEFAULTS = {
    actionKey: "action", // the key the API's route selection expression reads ($request.body.action)
    heartbeatAction: "heartbeat",
    heartbeatInterval: 5 * 60 * 1000, // well inside API Gateway's 10-minute idle timeout
    renewAfter: 110 * 60 * 1000, // before API Gateway's 2-hour connection limit
    renewRetry: 30 * 1000,
    minReconnectDelay: 500,
    maxReconnectDelay: 30 * 1000,
    maxQueue: 1000,
    requestTimeout: 30 * 1000, // past API Gateway's 29-second integration timeout
    historyAction: "history",
    presenceAction: "presence",
    resume: true, // ask for what was missed after every reconnection or renewal
    gapWait: 1000, // how long a message may wait for an earlier one (another Lambda's) before the gap is asked for
    rememberIds: 1000, // message ids remembered per channel to drop duplicates
    debug: false, // console.debug what the client decides (duplicates dropped, resumes, resets)
  };

  /** Why a request() failed: an error frame (status, message from the server), a timeout or a lost connection. */
  class RequestError extends Error {
    constructor(message, status, reason) {
      super(message);
      this.name = "RequestError";
      this.status = status; // the error frame's status; 0 when the server never answered
      this.reason = reason; // "error" (an error frame), "timeout", "closed" (the connection ended first)
    }
  }

  class LambdaWebSocket extends EventTarget {
    constructor(url, options = {}) {
      super();
      this.url = url;
      // A plain URL with a connect token can be used once: no reconnection, no renewal.
      this.singleUse = typeof url !== "function" && new URL(url, global.location.href).searchParams.has("token");
      this.options = Object.assign({}, DEFAULTS, options);
      this.queue = [];
      this.socket = null;
      this.connecting = null;
      this.renewing = null;
      this.attempt = 0;
      this.stopped = false;
      this.timers = {};
      this.pending = new Map(); // request id -> {resolve, reject, timer, socket (null while queued)}
      this.nextId = 1;
      this.channels = new Map(); // channel -> what the client knows of its numbered messages
      this.rooms = new Map(); // channel -> who is there, for channels whose presence was asked for
      this._open(false);
    }

    get connected() {
      return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
    }

    /** Send {action, ...payload} now, or as soon as a connection is open again. Nothing comes back. */
    send(action, payload = {}) {
      this._enqueue({ data: this._encode(action, payload), id: null });
    }

    /**
     * Send {action, ...payload, id} and wait for the handler's answer to it: a Promise resolved with the reply,
     * rejected with a RequestError on an error frame, after options.timeout ms, or when the connection that carried
     * it closes first (a queued request waits for a connection; its timeout runs meanwhile).
     */
    request(action, payload = {}, { timeout = this.options.requestTimeout } = {}) {
      const id = this.nextId++;
      const data = this._encode(action, Object.assign({}, payload, { id: id }));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => this._settle(id, null, new RequestError(`No reply to ${action} within ${timeout} ms`, 0, "timeout")),
          timeout
        );
        this.pending.set(id, { resolve: resolve, reject: reject, timer: timer, socket: null });
        this._enqueue({ data: data, id: id });
      });
    }

    /** Ask for a channel's recent messages ({last: n}), or those after a number ({after: seq}). */
    history(channel, question = { last: 20 }) {
      this._ask(this._channel(channel), question);
    }

    /** Ask who is in a channel; "presence" events follow, now and after every change or reconnection. */
    presence(channel) {
      this._room(channel);
      if (!this.connected) return; // asked once a connection opens
      this.request(this.options.presenceAction, { channel: channel })
        .then((state) => this._presenceChanged(state))
        .catch((error) => this._debug("presence not known", channel, error.message));
    }

    /** Close for good: no reconnection. */
    close(code = 1000, reason = "") {
      this.stopped = true;
      Object.keys(this.timers).forEach((name) => this._clear(name));
      [this.connecting, this.renewing, this.socket].forEach((socket) => socket && socket.close(code, reason));
      this.queue.splice(0);
      this._failPending(() => true, "The client was closed");
    }

    _open(renewal) {
      if (typeof this.url !== "function") {
        this._connect(this.url, renewal);
        return;
      }
      new Promise((resolve) => resolve(this.url())).then(
        (url) => {
          if (!this.stopped) this._connect(url, renewal);
        },
        (error) => this._urlFailed(renewal, error),
      );
    }

    _urlFailed(renewal, error) {
      // No URL (the token endpoint failed, say): count it as a failed connection and try again later.
      if (this.stopped) return;
      if (renewal) {
        this._schedule("renew", this.options.renewRetry, () => this._open(true));
        return;
      }
      this._emit("close", { code: 1006, reason: String(error), reconnecting: true });
      this._schedule("reconnect", this._backoff(), () => this._open(false));
    }

    _connect(url, renewal) {
      // Kept from the start, so that close() reaches a socket that is still connecting.
      const socket = new WebSocket(url);
      if (renewal) this.renewing = socket;
      else this.connecting = socket;
      socket.addEventListener("open", () => this._opened(socket, renewal));
      socket.addEventListener("message", (event) => this._received(socket, event.data));
      socket.addEventListener("close", (event) => this._closed(socket, event));
    }

    _opened(socket, renewal) {
      if (this.stopped) {
        socket.close(1000, "Closed");
        return;
      }
      const previous = this.socket;
      this.socket = socket;
      if (socket === this.renewing) this.renewing = null;
      if (socket === this.connecting) this.connecting = null;
      this.attempt = 0;
      this._clear("reconnect");
      // Make before break: the old connection is closed only once the new one is open. It may be a renewal that
      // opened after the connection it was renewing had dropped: only one connection ever stays open.
      if (previous) previous.close(1000, "Renewed");
      if (!this.singleUse) this._schedule("renew", this.options.renewAfter, () => this._open(true));
      // Questions first: their answers come before newer messages, which are held until then.
      this._resume();
      this.rooms.forEach((_, channel) => this.presence(channel));
      this._emit("open", { renewed: renewal });
      const queued = this.queue.splice(0);
      queued.forEach((item) => this._transmit(item));
      this._scheduleHeartbeat();
    }

    _closed(socket, event) {
      // Answers to what this socket carried can no longer come.
      this._failPending((request) => request.socket === socket, "The connection closed before the reply came");
      if (socket === this.renewing) {
        // The fresh connection failed; the current one still works. Try again a little later.
        this.renewing = null;
        if (!this.stopped) this._schedule("renew", this.options.renewRetry, () => this._open(true));
        return;
      }
      if (socket === this.connecting) this.connecting = null;
      if (socket !== this.socket && this.socket !== null) return; // a renewed-away connection
      this.socket = null;
      this._clear("heartbeat");
      this._clear("renew");
      if (this.singleUse) this.stopped = true; // its token is spent (or was refused): never reconnect with it
      const reconnecting = !this.stopped;
      this._emit("close", { code: event.code, reason: event.reason, reconnecting: reconnecting });
      if (reconnecting) this._schedule("reconnect", this._backoff(), () => this._open(false));
    }

    _backoff() {
      // Exponential back-off with "equal jitter": half fixed, half random, so clients do not return in step.
      const ceiling = Math.min(this.options.maxReconnectDelay, this.options.minReconnectDelay * 2 ** this.attempt);
      this.attempt += 1;
      return ceiling / 2 + Math.random() * (ceiling / 2);
    }

    _encode(action, payload) {
      return JSON.stringify(Object.assign({}, payload, { [this.options.actionKey]: action }));
    }

    _enqueue(item) {
      if (this.connected) {
        this._transmit(item);
        return;
      }
      this.queue.push(item);
      if (this.queue.length > this.options.maxQueue) {
        const dropped = this.queue.shift();
        if (dropped.id !== null) {
          this._settle(dropped.id, null, new RequestError("Dropped from a full queue while offline", 0, "closed"));
        }
      }
    }

    _transmit(item) {
      const request = item.id === null ? undefined : this.pending.get(item.id);
      if (request) request.socket = this.socket;
      if (item.id === null || request) this.socket.send(item.data);
      this._scheduleHeartbeat();
    }

    _received(socket, data) {
      // A handler that returned nothing is answered by API Gateway with an empty message: there is nothing in it.
      if (data === "") return;
      const frame = _parse(data);
      const answered = frame !== null && typeof frame === "object" ? this.pending.get(frame.id) : undefined;
      if (answered && answered.socket === socket) {
        if (_isErrorFrame(frame)) {
          this._settle(frame.id, null, new RequestError(frame.error.message, frame.error.status, "error"));
        } else {
          this._settle(frame.id, _replyOf(frame), null);
        }
        return;
      }
      const kind = frame !== null && typeof frame === "object" && !Array.isArray(frame) ? frame : {};
      // Numbered messages are taken from every socket (a renewal overlaps two): duplicates are dropped by id.
      if (kind.history === "message") return this._numbered(this._channel(frame.channel), frame, false);
      if (kind.history === "replay" || kind.history === "reset") return this._answered(frame);
      if (socket !== this.socket) return; // a renewed-away connection's broadcasts arrive on the new one too
      if (typeof kind.presence === "string") return this._presenceChanged(frame);
      if (_isErrorFrame(frame)) this._emit("error", frame.error);
      else if (_isGatewayError(frame)) this._emit("error", frame);
      else this._emit("message", frame);
    }

    _settle(id, reply, error) {
      const request = this.pending.get(id);
      if (!request) return;
      this.pending.delete(id);
      clearTimeout(request.timer);
      if (error) request.reject(error);
      else request.resolve(reply);
    }

    _failPending(matches, message) {
      Array.from(this.pending.entries())
        .filter(([, request]) => matches(request))
        .forEach(([id]) => this._settle(id, null, new RequestError(message, 0, "closed")));
    }

    _scheduleHeartbeat() {
      // Any message resets API Gateway's idle timer, so the heartbeat only fires after a quiet interval.
      this._schedule("heartbeat", this.options.heartbeatInterval, () => {
        if (this.connected) this._transmit({ data: this._encode(this.options.heartbeatAction, {}), id: null });
      });
    }

    _schedule(name, delay, callback) {
      this._clear(name);
      this.timers[name] = setTimeout(() => {
        delete this.timers[name];
        callback();
      }, delay);
    }

    _clear(name) {
      if (this.timers[name] !== undefined) clearTimeout(this.timers[name]);
      delete this.timers[name];
    }

    _emit(type, detail, history) {
      const event = new CustomEvent(type, { detail: detail });
      if (history) event.history = history;
      this.dispatchEvent(event);
    }

    _debug(...details) {
      if (this.options.debug) console.debug("LambdaWebSocket:", ...details);
    }

    // Numbered messages of channels with history, and the answers about history and presence.

    _channel(name) {
      let state = this.channels.get(name);
      if (!state) {
        // lastSeq: the last number delivered (null: none yet); held: messages waiting for an earlier one.
        state = { name: name, lastSeq: null, ids: new Set(), held: new Map(), asking: null, asked: null, missed: 0 };
        this.channels.set(name, state);
      }
      return state;
    }

    _numbered(state, message, replayed) {
      if (state.ids.has(message.id) || (state.lastSeq !== null && message.seq <= state.lastSeq)) {
        this._debug("duplicate dropped", state.name, message.seq, message.id);
        return;
      }
      const early = state.lastSeq !== null && message.seq > state.lastSeq + 1;
      if (!replayed && (state.asking || early)) {
        // An answer is coming (it goes first), or an earlier message is still on its way: hold this one.
        state.held.set(message.seq, message);
        if (!state.asking) this._schedule(`gap:${state.name}`, this.options.gapWait, () => this._askForGap(state));
        return;
      }
      this._deliver(state, message, replayed);
      this._release(state);
    }

    _deliver(state, message, replayed) {
      const held = state.held.get(message.seq);
      if (held && held !== message) this._debug("duplicate dropped", state.name, held.seq, held.id);
      state.lastSeq = message.seq;
      state.held.delete(message.seq);
      state.ids.add(message.id);
      if (state.ids.size > this.options.rememberIds) state.ids.delete(state.ids.values().next().value);
      if (replayed) state.missed += 1;
      const history = { channel: state.name, seq: message.seq, id: message.id, at: message.at, replayed: replayed };
      this._emit("message", message.data, history);
    }

    _release(state) {
      // Deliver held messages that are next in line; a remaining gap waits for gapWait, then is asked for.
      while (!state.asking && state.held.has(state.lastSeq + 1)) {
        this._deliver(state, state.held.get(state.lastSeq + 1), false);
      }
      if (state.asking || state.held.size === 0) return;
      this._schedule(`gap:${state.name}`, this.options.gapWait, () => this._askForGap(state));
    }

    _askForGap(state) {
      if (!state.asking && state.held.size > 0) this._ask(state, { after: state.lastSeq });
    }

    _ask(state, question) {
      // Asked now when connected, else by _resume() once a connection opens.
      state.asking = question;
      if (!this.connected) return;
      this._debug("asking for history", state.name, question);
      const asked = {}; // only the latest question's answer counts (a renewal may ask again meanwhile)
      state.asked = asked;
      this.request(this.options.historyAction, Object.assign({ channel: state.name }, question))
        .then((answer) => state.asked === asked && this._answered(answer))
        .catch((error) => {
          // A connection that closed first: the next one asks again. Else the server refused or never answered.
          if (state.asked !== asked || error.reason === "closed") return;
          this._debug("history not answered: going on without it", state.name, error.message);
          state.asking = null;
          this._flushHeld(state);
        });
    }

    _resume() {
      this.channels.forEach((state) => {
        // Once a connection is open: an unanswered question again, and (option resume) what was missed.
        const resuming = state.lastSeq !== null && (this.options.resume || state.asking);
        const question = resuming ? { after: state.lastSeq } : state.asking;
        if (question) this._ask(state, question);
      });
    }

    _answered(answer) {
      // A history answer: what the client asked for, or a replay or reset posted to it by the server.
      const state = this._channel(answer.channel);
      if (answer.history === "reset") {
        this._debug("reset: messages after", answer.after, "are no longer kept", state.name);
        this._caughtUp(state, answer.head);
        this._emit("reset", { channel: state.name, after: answer.after, head: answer.head, oldest: answer.oldest });
      } else if (answer.history === "replay") {
        answer.messages.forEach((message) => this._numbered(state, message, true));
        if (answer.more) {
          this._ask(state, { after: state.lastSeq });
          return;
        }
        this._caughtUp(state, answer.head);
        this._debug("resumed", state.name, "missed", state.missed);
        this._emit("resumed", { channel: state.name, missed: state.missed });
      } else {
        return;
      }
      state.missed = 0;
      this._flushHeld(state);
    }

    _caughtUp(state, head) {
      state.asking = null;
      state.asked = null;
      if (state.lastSeq === null || state.lastSeq < head) state.lastSeq = head;
    }

    _flushHeld(state) {
      // Held messages past what was answered, in order; those already delivered are duplicates.
      [...state.held.keys()].sort((a, b) => a - b).forEach((seq) => {
        const message = state.held.get(seq);
        state.held.delete(seq);
        if (state.lastSeq === null || seq > state.lastSeq) this._deliver(state, message, false);
        else this._debug("duplicate dropped", state.name, seq, message.id);
      });
    }

    _room(channel) {
      let room = this.rooms.get(channel);
      if (!room) {
        room = { users: new Map(), anonymous: 0 };
        this.rooms.set(channel, room);
      }
      return room;
    }

    _presenceChanged(frame) {
      const room = this._room(frame.channel);
      if (frame.presence === "state") {
        room.users = new Map(frame.users.map((user) => [user.id, user]));
        room.anonymous = frame.anonymous;
      } else if (frame.user === null) {
        room.anonymous = Math.max(0, room.anonymous + (frame.presence === "joined" ? 1 : -1));
      } else if (frame.presence === "joined") {
        room.users.set(frame.user.id, frame.user);
      } else if (frame.presence === "left") {
        room.users.delete(frame.user.id); // a second "left" for the same user changes nothing
      }
      const users = [...room.users.values()].sort((a, b) => String(a.name).localeCompare(String(b.name)));
      const change = frame.presence === "state" ? null : { type: frame.presence, user: frame.user };
      this._emit("presence", { channel: frame.channel, users: users, anonymous: room.anonymous, change: change });
    }
  }

  function _parse(data) {
    if (typeof data !== "string") return data;
    try {
      return JSON.parse(data);
    } catch (error) {
      return data;
    }
  }

  function _isErrorFrame(frame) {
    const error = frame !== null && typeof frame === "object" ? frame.error : undefined;
    return (
      error !== null && typeof error === "object" && typeof error.status === "number" && typeof error.message === "string"
    );
  }

  function _isGatewayError(frame) {
    // API Gateway's own answer when the integration failed or timed out: {message, connectionId, requestId}.
    return (
      frame !== null &&
      typeof frame === "object" &&
      typeof frame.message === "string" &&
      typeof frame.connectionId === "string" &&
      typeof frame.requestId === "string"
    );
  }

  function _replyOf(frame) {
    // The server adds "id" to a reply object, or wraps any other reply as {id, reply} (docs/topics/replies.md).
    const keys = Object.keys(frame);
    if (keys.length === 2 && keys.includes("id") && keys.includes("reply")) return frame.reply;
    const reply = Object.assign({}, frame);
    delete reply.id;
    return reply;
  }

  global.LambdaWebSocket = LambdaWebSocket;
  global.LambdaWebSocket.RequestError = RequestError;
})(window);
