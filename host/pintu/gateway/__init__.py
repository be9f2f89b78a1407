"""Where door units meet the host: the gateway (gateway.py: one protocol session per device, every frame to a decision),
its transports (serial_link.py, mqtt_link.py) and `pintu serve` (server.py).

The contract every link follows (one class per medium):
    Link(address, on_frame, ...)   on_frame(frame, reply, origin=None) is called with each whole frame read (still to
                                   be authenticated by the gateway); reply(frame) sends an answer back to that unit
                                   (reply(frame, now=True): only if it goes at once, never queued for later; -> sent);
                                   origin says where the medium claims it came from (MQTT: (site, device) of the topic)
    link.start()                   opens the medium and keeps it open (reopens, reconnects) until close()
    link.close()                   stops taking frames; safe to call twice
A link never decodes a frame's meaning and never decides anything: it only frames bytes and hands them on.
"""
