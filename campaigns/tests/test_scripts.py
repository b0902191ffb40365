from __future__ import annotations

from campaigns.models import Contact
from campaigns.scripts import TOP_LEVEL_FIELDS, render_script, script_fields, unknown_fields


def _contact(**kwargs: object) -> Contact:
    values: dict[str, object] = {
        "first_name": "Maria",
        "last_name": "Lopez",
        "cell": "+12025550175",
        "zip": "20001",
        "external_id": "VAN-42",
        "custom_fields": {},
    }
    values.update(kwargs)
    return Contact(**values)


def test_render_script_fills_contact_and_texter_names() -> None:
    fields = script_fields(contact=_contact(), texter_first_name="Ada", texter_last_name="Lovelace")
    rendered = render_script("Hi {firstName} {lastName}, it's {texterFirstName} {texterLastName}.", fields)
    assert rendered == "Hi Maria Lopez, it's Ada Lovelace."


def test_render_script_fills_cell_zip_and_external_id() -> None:
    fields = script_fields(contact=_contact())
    assert render_script("{cell} {zip} {external_id}", fields) == "+12025550175 20001 VAN-42"


def test_render_script_fills_custom_fields() -> None:
    contact = _contact(custom_fields={"polling_place": "Lincoln School", "Precinct No": 12, "ward-id": "3B"})
    fields = script_fields(contact=contact)
    assert render_script("Vote at {polling_place}, precinct {Precinct No}, ward {ward-id}.", fields) == (
        "Vote at Lincoln School, precinct 12, ward 3B."
    )


def test_a_custom_field_without_a_value_renders_empty() -> None:
    fields = script_fields(contact=_contact(custom_fields={"nickname": None}))
    assert render_script("Hey{nickname}!", fields) == "Hey!"


def test_unknown_fields_are_left_as_written() -> None:
    fields = script_fields(contact=_contact())
    assert (
        render_script("Hi {firstName}, {fristName} {Polling Place}", fields) == "Hi Maria, {fristName} {Polling Place}"
    )


def test_field_names_are_case_sensitive() -> None:
    fields = script_fields(contact=_contact())
    assert render_script("{firstname} {FirstName} {firstName}", fields) == "{firstname} {FirstName} Maria"


def test_the_contact_fields_win_over_a_custom_field_of_the_same_name() -> None:
    fields = script_fields(contact=_contact(custom_fields={"firstName": "Imposter"}))
    assert render_script("{firstName}", fields) == "Maria"


def test_values_are_inserted_once_and_never_expanded_again() -> None:
    contact = _contact(first_name="{lastName}", custom_fields={"note": r"C:\path \1 $1"})
    fields = script_fields(contact=contact)
    assert render_script("{firstName} {note}", fields) == r"{lastName} C:\path \1 $1"


def test_text_that_is_not_a_field_is_untouched() -> None:
    fields = script_fields(contact=_contact())
    script = "Braces {} and {!} and { firstName and firstName} stay; €5 {firstName}"
    assert render_script(script, fields) == "Braces {} and {!} and { firstName and firstName} stay; €5 Maria"


def test_the_same_field_can_appear_many_times() -> None:
    fields = script_fields(contact=_contact())
    assert render_script("{firstName}, {firstName}!", fields) == "Maria, Maria!"


def test_unknown_fields_lists_each_unknown_name_once_in_order() -> None:
    known = set(TOP_LEVEL_FIELDS) | {"polling_place"}
    script = "Hi {firstName} at {polling_place}: {zeta} {alpha} {zeta} {texterFirstName}"
    assert unknown_fields(script, known) == ["alpha", "zeta"]


def test_unknown_fields_is_empty_for_a_script_that_only_uses_known_fields() -> None:
    assert unknown_fields("Hi {firstName}, it's {texterFirstName}", set(TOP_LEVEL_FIELDS)) == []
    assert unknown_fields("No fields at all.", set()) == []


def test_custom_fields_with_accents_and_dots_are_filled_in() -> None:
    assert render_script("{préféré} {e.mail}", {"préféré": "vert", "e.mail": "a@b.c"}) == "vert a@b.c"
