"""Input contracts of ``fit`` under a protocol (numerics.fit.protocol_fit): which protocol a transcript is
fitted under (its header, ``--config``, or both when they agree), and the InputError when they disagree
(dimension, agents, phases, weights, law, deterministic vs random) or a message names an agent the
protocol does not have. Each accepted case is checked by the protocol it returns; each refused one by
its one-line error. Cheap: no fit runs except the refused ones."""
import json

import numpy as np
import pytest

from numerics.fit import protocol_fit
from numerics.io import transcripts
from numerics.io.errors import InputError
from numerics.protocol.random_spec import RandomProtocol
from numerics.protocol.spec import Protocol

ROUNDS = [{"A": {"A": 0.3, "B": 0.7}}, {"B": {"A": 1.0}}]  # P4, the anchored protocol
OTHER_ROUNDS = [{"A": {"A": 0.4, "B": 0.6}}, {"B": {"A": 1.0}}]  # the same shape, other weights
RANDOM = [{"probability": 0.4, "rounds": ROUNDS},
          {"probability": 0.6, "rounds": [{"B": {"A": 1.0}}, {"A": {"B": 1.0}}]}]
OTHER_LAW = [{**RANDOM[0], "probability": 0.5}, {**RANDOM[1], "probability": 0.5}]


def _config(tmp_path, protocol, d=2, name="cfg.json"):
    eye = np.eye(d).tolist()
    raw = {"schema_version": 1, "initial_message": [0.0] * d,
           "agents": [{"name": n, "geometry": eye, "target": [0.0] * d, "preconditioner": 0.5} for n in "AB"]}
    if protocol is not None:
        raw["protocol"] = protocol
    path = tmp_path / name
    path.write_text(json.dumps(raw))
    return path


def _transcript(protocol=None, d=2, agents=("B", "A")):
    """A parsed transcript: a header naming ``protocol`` (none when None) and one message per agent."""
    lines = []
    if protocol is not None:
        initial = {n: [0.0] * d for n in "AB"}
        lines.append(json.dumps({"schema_version": 1, "agents": ["A", "B"],
                                 "protocol": {**protocol, "initial_messages": initial}}))
    for t, a in enumerate(agents):
        lines.append(json.dumps({"turn": t, "agent": a, "incoming": [0.0] * d, "outgoing": [1.0] * d}))
    return transcripts.parse(lines)


def test_a_config_of_another_dimension_is_refused(tmp_path):
    for config_d, transcript_d in ((2, 3), (3, 2)):
        with pytest.raises(InputError, match="--config dimension"):
            protocol_fit.transcript_protocol(_transcript(d=transcript_d), _config(tmp_path, {"rounds": ROUNDS},
                                                                                   config_d))


def test_a_config_of_the_same_dimension_is_taken(tmp_path):
    for d in (2, 3):
        proto = protocol_fit.transcript_protocol(_transcript(d=d), _config(tmp_path, {"rounds": ROUNDS}, d))
        assert isinstance(proto, Protocol) and proto.names == ("A", "B") and len(proto.phases) == 2


def test_a_config_without_protocol_gives_its_round_robin(tmp_path):
    proto = protocol_fit.transcript_protocol(_transcript(), _config(tmp_path, None))
    assert isinstance(proto, Protocol) and [[i for i, _ in ph] for ph in proto.phases] == [[0], [1]]


def test_the_header_alone_or_with_a_config_that_agrees(tmp_path):
    for protocol, kind in (({"rounds": ROUNDS}, Protocol), ({"random": RANDOM}, RandomProtocol)):
        tr = _transcript(protocol)
        assert isinstance(protocol_fit.transcript_protocol(tr), kind)
        assert isinstance(protocol_fit.transcript_protocol(tr, _config(tmp_path, protocol)), kind)
    assert protocol_fit.transcript_protocol(_transcript()) is None  # no header, no config: no protocol


@pytest.mark.parametrize("header, config", [
    ({"rounds": ROUNDS}, {"rounds": OTHER_ROUNDS}),
    ({"random": RANDOM}, {"rounds": ROUNDS}),
    ({"rounds": ROUNDS}, {"random": RANDOM}),
    ({"random": RANDOM}, {"random": OTHER_LAW}),
], ids=["other weights", "random header, deterministic config", "deterministic header, random config",
        "other law"])
def test_a_config_that_differs_from_the_header_is_refused(tmp_path, header, config):
    with pytest.raises(InputError, match="names a different protocol"):
        protocol_fit.transcript_protocol(_transcript(header), _config(tmp_path, config))


def test_a_message_of_an_agent_outside_the_protocol_is_named(tmp_path):
    proto = protocol_fit.transcript_protocol(_transcript({"rounds": ROUNDS}))
    for agents, named in ((("B", "A", "Z"), "Z"), (("Z", "B", "Y"), "Y")):  # the first unknown, sorted
        with pytest.raises(InputError, match=f"transcript agent = '{named}': is not an agent of the protocol"):
            protocol_fit.fit(_transcript(None, agents=agents), proto, 0.5, bootstrap=0, seed=0)
