from immunotox.store import Store


def test_put_if_absent_rejects_a_live_duplicate_and_accepts_after_expiry(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    assert store.put_if_absent("jti", "abc", 1, ttl_s=60) is True
    assert store.put_if_absent("jti", "abc", 1, ttl_s=60) is False
    assert store.put_if_absent("jti", "old", 1, ttl_s=-1) is True
    assert store.put_if_absent("jti", "old", 1, ttl_s=60) is True  # the expired entry gave way


def test_two_store_objects_on_one_file_share_state(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    a, b = Store(url), Store(url)
    a.put("session", "s1", {"token": "x"}, ttl_s=60)
    assert b.get("session", "s1") == {"token": "x"}
    assert b.pop("session", "s1") == {"token": "x"}
    assert a.get("session", "s1") is None


def test_many_processes_creating_the_store_at_once_all_succeed(tmp_path):
    """Gunicorn starts its workers together on a fresh database; none may fail to boot."""
    import multiprocessing

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(6) as pool:
        results = pool.map(_open_store, [url] * 12)
    assert results == [True] * 12


def _open_store(url: str) -> bool:
    from cds_hooks import feedback  # noqa: F401  (its tables join the same metadata)
    from immunotox.store import Store

    Store(url)
    return True
