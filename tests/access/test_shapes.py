"""A principal keeps its access shape and bind values (app/access/shapes.py) once worked out. A
principal derived from it (``dataclasses.replace``, as deal registration elevates its caller)
must work out its own: reusing the first one's would run the wrong access clause, or bind the
first one's ids."""

import dataclasses
import uuid

from app.access import shapes
from app.auth.principal import Principal, PrincipalKind


def _partner() -> Principal:
    return Principal(
        kind=PrincipalKind.partner_user,
        scopes=frozenset({"leads:read"}),
        client_pk=uuid.uuid4(),
        client_id="c",
        user_id=uuid.uuid4(),
        partner_account_id=uuid.uuid4(),
        partner_role="manager",
    )


def test_a_derived_principal_has_its_own_shape_and_values():
    partner = _partner()
    shape, values = shapes.shape(partner), shapes.bind_values(partner)
    assert values == {
        "access_client_pk": partner.client_pk,
        "access_user_id": partner.user_id,
        "access_partner_account_id": partner.partner_account_id,
    }

    elevated = dataclasses.replace(
        partner,
        kind=PrincipalKind.user,
        is_admin=True,
        partner_account_id=None,
        partner_role=None,
    )
    assert shapes.shape(elevated) != shape
    assert shapes.shape(elevated)[:2] == (PrincipalKind.user, True)
    assert shapes.bind_values(elevated) == {
        "access_client_pk": partner.client_pk,
        "access_user_id": partner.user_id,
    }
    # The first principal's are unchanged, and still its own.
    assert shapes.shape(partner) == shape
    assert shapes.bind_values(partner) == values


def test_equal_principals_do_not_share_what_they_keep():
    one = _partner()
    two = dataclasses.replace(one)
    assert one == two and hash(one) == hash(two)  # the memo is no part of equality
    shapes.bind_values(one)
    assert one.access_memo is not two.access_memo
    assert two.access_memo == {}


def test_the_users_below_are_bound_and_only_their_presence_shapes_the_statement():
    def rep(below):
        return Principal(
            kind=PrincipalKind.user,
            scopes=frozenset({"leads:read"}),
            client_pk=uuid.uuid4(),
            client_id="c",
            user_id=uuid.uuid4(),
            role_id=uuid.uuid4(),
            below=below,
        )

    one, two = uuid.uuid4(), uuid.uuid4()
    unknown, nobody, some, others = rep(None), rep(()), rep((one,)), rep((one, two))
    assert len({shapes.shape(p) for p in (unknown, nobody, some)}) == 3
    assert shapes.shape(some) == shapes.shape(others)  # one statement for every manager
    assert shapes.bind_values(others)["access_below"] == [one, two]
    assert "access_below" not in shapes.bind_values(nobody)
    assert "access_below" not in shapes.bind_values(unknown)
    assert shapes.template(nobody).below == ()
    assert shapes.template(unknown).below is None
    assert shapes.template(others).below.key == "access_below"
