def test_index_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_index_lists_contacts(app, member_client, team):
    from core.extensions import db
    from tests import factories

    with app.app_context():
        factories.contact(db.session.merge(team), "Grace", "Hopper")
    response = member_client.get("/")
    assert response.status_code == 200
    assert b"Grace Hopper" in response.data
