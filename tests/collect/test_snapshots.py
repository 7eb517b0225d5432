"""Raw snapshots: what a run removes of the folders it finds in raw/<source_id>/."""

from __future__ import annotations


def test_a_run_leaves_a_delivery_being_written_alone(tmp_path):
    """A delivery through the inbox may come while a run cleans its own crashed downloads."""
    from partnerdata.collect.snapshots import DELIVERY_PREFIX, remove_incoming_leftovers

    folder = tmp_path / "raw" / "school"
    (folder / f"{DELIVERY_PREFIX}abc").mkdir(parents=True)
    (folder / ".incoming-xyz").mkdir()
    assert remove_incoming_leftovers(tmp_path / "raw", "school") == [".incoming-xyz"]
    assert (folder / f"{DELIVERY_PREFIX}abc").is_dir()
