def test_fixtures(cast, approved_run):
    cast.account.refresh_from_db()
    assert cast.account.tier == "Gold"
    assert approved_run.is_current
