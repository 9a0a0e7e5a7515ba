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
      if (socket !== this.socket) return; // a renewed-away connection's broadcasts arrive on the new one too
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

    _emit(type, detail) {
      this.dispatchEvent(new CustomEvent(type, { detail: detail }));
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
