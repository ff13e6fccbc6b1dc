"""The development broker's own plumbing (marketplace.devbroker): formatting a KRaft log directory."""

from __future__ import annotations

from pathlib import Path

from marketplace.devbroker import KafkaNode, kafka_version


def test_a_cluster_id_that_starts_with_a_dash_formats(tmp_path: Path) -> None:
    # Base64 ids start with "-" one time in 64; the storage tool once read such an id as an option and refused.
    node = KafkaNode(tmp_path, cluster_id="-AbCdEfGhIjKlMnOpQrStU")
    node.format()
    assert "cluster.id=-AbCdEfGhIjKlMnOpQrStU" in (tmp_path / "log" / "meta.properties").read_text()


def test_wipe_loses_the_log_but_keeps_the_node_in_its_cluster(tmp_path: Path) -> None:
    node = KafkaNode(tmp_path)
    node.format()
    cluster_id = next(
        line.split("=", 1)[1] for line in (tmp_path / "log" / "meta.properties").read_text().splitlines() if line.startswith("cluster.id=")
    )
    node.wipe()
    assert not (tmp_path / "log").exists()
    node.format()
    assert f"cluster.id={cluster_id}" in (tmp_path / "log" / "meta.properties").read_text()


def test_the_pinned_version_is_a_4x_release() -> None:
    assert kafka_version().split(".")[0] == "4"
