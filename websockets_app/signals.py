"""Signals sent by ``WebSocketView``: extension points that need no subclassing.

Every signal is sent with ``sender`` = the view class, and ``session`` (the ``WebSocketSession``), ``user``
(``request.user``: the connection's user, or ``AnonymousUser``) and ``event`` (the raw API Gateway event).

- ``websocket_connected``: once the ``$connect`` transaction has committed, so a refused or rolled-back connect
  sends nothing. API Gateway answers 410 to messages for a connection until ``$connect`` has returned, so do not
  send to the new connection from a receiver.
- ``websocket_disconnected``: after ``$disconnect`` has marked the row closed.
- ``websocket_message``: after the handler has returned, with ``handler`` (the method's name) and ``response``
  (what API Gateway will be answered). Messages refused before a handler ran, or by ``RejectEvent``, send nothing.

One signal is sent by the sending layer instead, with ``sender`` = ``Broadcast`` and ``broadcast`` (the row):

- ``broadcast_finished``: once, when the last batch of a broadcast has recorded its outcome (in the Lambda
  invocation that sent that batch: keep receivers short).
"""

from django.dispatch import Signal

__all__ = ("broadcast_finished", "websocket_connected", "websocket_disconnected", "websocket_message")

websocket_connected = Signal()
websocket_disconnected = Signal()
websocket_message = Signal()
broadcast_finished = Signal()
