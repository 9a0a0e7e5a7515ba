/*
 * LambdaWebSocket: a browser WebSocket made for API Gateway WebSocket APIs (and the local emulator).
 *
 * API Gateway closes a connection after 10 idle minutes and after 2 hours in any case, and connections drop.
 * This client hides that from the page: it reconnects with exponential back-off and jitter, sends a heartbeat
 * before the idle timeout, opens a fresh connection before the 2-hour limit and swaps it in, and queues what is
 * sent while no connection is open. Messages are JSON objects with an action: send("sendmessage", {message}).
 *
 *   const socket = new LambdaWebSocket(url);        // url comes from the server, never hard-coded
 *   socket.addEventListener("message", (event) => console.log(event.detail));
 *   socket.addEventListener("open", () => ...);     // also after each reconnection (event.detail.renewed)
 *   socket.addEventListener("close", (event) => ...); // event.detail: {code, reason, reconnecting}
 *   socket.send("sendmessage", {message: "hello"});
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
  };

  class LambdaWebSocket extends EventTarget {
    constructor(url, options = {}) {
      super();
      this.url = url;
      this.options = Object.assign({}, DEFAULTS, options);
      this.queue = [];
      this.socket = null;
      this.connecting = null;
      this.renewing = null;
      this.attempt = 0;
      this.stopped = false;
      this.timers = {};
      this._open(false);
    }

    get connected() {
      return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
    }

    /** Send {action, ...payload} now, or as soon as a connection is open again. */
    send(action, payload = {}) {
      const data = JSON.stringify(Object.assign({}, payload, { [this.options.actionKey]: action }));
      if (this.connected) {
        this._transmit(data);
      } else {
        this.queue.push(data);
        if (this.queue.length > this.options.maxQueue) this.queue.shift();
      }
    }

    /** Close for good: no reconnection. */
    close(code = 1000, reason = "") {
      this.stopped = true;
      Object.keys(this.timers).forEach((name) => this._clear(name));
      [this.connecting, this.renewing, this.socket].forEach((socket) => socket && socket.close(code, reason));
    }

    _open(renewal) {
      // Kept from the start, so that close() reaches a socket that is still connecting.
      const socket = new WebSocket(this.url);
      if (renewal) this.renewing = socket;
      else this.connecting = socket;
      socket.addEventListener("open", () => this._opened(socket, renewal));
      socket.addEventListener("message", (event) => {
        if (socket === this.socket) this._emit("message", _parse(event.data));
      });
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
      this._schedule("renew", this.options.renewAfter, () => this._open(true));
      this._emit("open", { renewed: renewal });
      const queued = this.queue.splice(0);
      queued.forEach((data) => this._transmit(data));
      this._scheduleHeartbeat();
    }

    _closed(socket, event) {
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

    _transmit(data) {
      this.socket.send(data);
      this._scheduleHeartbeat();
    }

    _scheduleHeartbeat() {
      // Any message resets API Gateway's idle timer, so the heartbeat only fires after a quiet interval.
      this._schedule("heartbeat", this.options.heartbeatInterval, () => {
        if (this.connected) this._transmit(JSON.stringify({ [this.options.actionKey]: this.options.heartbeatAction }));
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

  global.LambdaWebSocket = LambdaWebSocket;
})(window);
