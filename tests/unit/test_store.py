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


def test_many_workers_booting_at_once_on_a_fresh_database_all_succeed(tmp_path):
    """Gunicorn starts its workers together on a fresh database, and restarts one while the
    others write: none may fail to boot. Each process builds the whole app, as a worker does
    (the store's tables, then the feedback tables when the CDS blueprint registers)."""
    import multiprocessing

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(6) as pool:
        results = pool.map(_boot_app_and_write, [url] * 12)
    assert results == [True] * 12


def _boot_app_and_write(url: str) -> bool:
    from immunotox.app import create_app
    from immunotox.store import get_store as store

    app = create_app({"DATABASE_URL": url, "CDS_AUTH": "off"})
    for i in range(20):  # the writes a serving worker makes while the next one boots
        store(app).put("session", f"{id(app)}-{i}", {"n": i}, ttl_s=60)
    return True
