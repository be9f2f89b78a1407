"""MQTT topics: the spelling units, host and broker agree on (docs/mqtt.md), and the strict parser."""

from pintu_protocol import topics


def test_topic_spellings():
    assert topics.up_topic("hq", "door-1") == "pintu/hq/door-1/up"
    assert topics.down_topic("hq", "door-1") == "pintu/hq/door-1/down"
    assert topics.status_topic("hq", "door-1") == "pintu/hq/door-1/status"
    assert topics.every(topics.UP) == "pintu/+/+/up"
    assert topics.shared(topics.every(topics.UP)) == "$share/pintu/pintu/+/+/up"


def test_parse_topic_round_trips_every_kind():
    for kind in topics.KINDS:
        assert topics.parse_topic(topics.topic("kantor-bekasi", "door-1", kind)) == ("kantor-bekasi", "door-1", kind)


def test_parse_topic_refuses_anything_else():
    host_reads = (topics.UP, topics.STATUS)
    assert topics.parse_topic("pintu/site/door-1/down", host_reads) is None
    for bad in ("pintu/site/door 1/up", "other/site/door-1/up", "pintu/site/door-1/up/x", "pintu/site/up",
                "pintu//door-1/up", "pintu/+/door-1/up", "pintu/site/#/up", "pintu/site/door-1/UP", "",
                "pintu/%s/door-1/up" % ("s" * 33)):
        assert topics.parse_topic(bad) is None, bad
