"""Order files checked against the rules (docs/order-file.md): each check is proved
by mutating a copy of a valid shipped example, so a test fails both when a
violation is missed and when a correct order is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from unisupport.catalog.catalog import Catalog
from unisupport.datafile import shipped
from unisupport.ledger.entitlement import activation
from unisupport.orders.order_file import OrderFile
from unisupport.orders.validation import (
    OrderFileUnreadable,
    Violation,
    is_valid,
    read_order_document,
    validate_order,
)
from unisupport.refusal import Refused

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "orders"
CONTOSO = EXAMPLES / "contoso-multicountry.yaml"
FABRIKAM = EXAMPLES / "fabrikam-single-site.yaml"
INVALID = EXAMPLES / "invalid-many-violations.yaml"


def contoso() -> dict[str, Any]:
    """A fresh, mutable copy of the valid multi-country example."""
    return read_order_document(CONTOSO)


def errors(document: dict[str, Any], **kwargs: Any) -> set[tuple[str, str]]:
    return {(v.rule, v.path) for v in validate_order(document, **kwargs) if v.severity == "error"}


def messages(document: dict[str, Any], rule: str) -> list[str]:
    return [v.message for v in validate_order(document) if v.rule == rule]


def index_of(document: dict[str, Any], line_id: str) -> int:
    return next(i for i, line in enumerate(document["lines"]) if line["id"] == line_id)


def line(document: dict[str, Any], line_id: str) -> dict[str, Any]:
    return document["lines"][index_of(document, line_id)]


# ------------------------------------------------------------------ the examples


@pytest.mark.parametrize("path", [CONTOSO, FABRIKAM], ids=lambda p: p.name)
def test_shipped_examples_are_valid_without_warnings(path):
    assert validate_order(read_order_document(path)) == []


def test_invalid_example_reports_every_violation_at_once():
    found = [(v.rule, v.path) for v in validate_order(read_order_document(INVALID))]
    assert found == [
        ("R-ORD-1", "lines[10].quantity"),
        ("R-CAT-2", "currency"),
        ("R-SEV-4", "sites[1].timezone"),
        ("R-ORD-4", "contacts"),
        ("R-ORD-1", "lines[2].id"),
        ("R-MC-1", "lines[2].site"),
        ("R-CAT-1", "lines[2].service"),
        ("R-MC-2", "lines[3].site"),
        ("R-MC-3", "lines[4].site"),
        ("R-FLEX-4", "lines[5].funding"),
        ("R-FLEX-3", "lines[6].contract_year"),
        ("R-FLEX-1", "lines[1].price"),
        ("R-FLEX-2", "lines[0].price"),
        ("R-CRED-2", "lines[7].credits"),
        ("R-DEV-1", "lines[9].quantity"),
        ("R-MCSAP-1", "scopes.mcsap.evaluated_azure_spend_usd"),
        ("R-SLA-2", "scopes.arr_components[0]"),
        ("R-EVT-2", "events[0].end"),
        ("R-EVT-2", "events[0].confirmed_on"),
    ]
    assert len({rule for rule, _ in found}) >= 10


# ------------------------------------------------------------------ structure (R-ORD-1)


def test_structural_errors_are_r_ord_1_with_the_documents_own_paths():
    doc = contoso()
    doc["lines"][2]["quantity"] = 0
    doc["term"]["end"] = "2028-02-30"
    doc["sites"][1]["colour"] = "blue"
    del doc["customer"]["name"]
    found = validate_order(doc)
    structural = {(v.rule, v.path) for v in found}
    assert {
        ("R-ORD-1", "lines[2].quantity"),
        ("R-ORD-1", "term.end"),
        ("R-ORD-1", "sites[1].colour"),
        ("R-ORD-1", "customer.name"),
    } <= structural
    by_path = {v.path: v.message for v in found}
    assert "got 0" in by_path["lines[2].quantity"]
    assert "'colour'" in by_path["sites[1].colour"]
    assert "required" in by_path["customer.name"]


def test_a_broken_line_hides_only_itself_from_the_semantic_checks():
    doc = contoso()
    doc["lines"][0]["quantity"] = "many"
    line(doc, "uer")["site"] = "tokyo"
    uer = index_of(doc, "uer")
    assert errors(doc) == {("R-ORD-1", "lines[0].quantity"), ("R-MC-2", f"lines[{uer}].site")}


def test_an_impossible_date_is_a_violation_of_the_file_not_an_unreadable_file(tmp_path):
    path = tmp_path / "order.yaml"
    path.write_text(CONTOSO.read_text(encoding="utf-8").replace("executed_on: 2026-01-01", "executed_on: 2026-02-30"))
    assert errors(read_order_document(path)) == {("R-ORD-1", "executed_on")}


def test_duplicate_ids_are_refused_r_ord_1():
    doc = contoso()
    doc["lines"][3]["id"] = doc["lines"][1]["id"]
    doc["sites"].append({**doc["sites"][2]})
    doc["contacts"][2]["email"] = doc["contacts"][0]["email"].upper()  # e-mail addresses ignore case
    doc["events"].append({**doc["events"][0], "start": "2026-11-30", "end": "2026-11-30"})
    found = errors(doc)
    assert {
        ("R-ORD-1", "lines[3].id"),
        ("R-ORD-1", "sites[3].id"),
        ("R-ORD-1", "contacts[2].email"),
        ("R-ORD-1", "events[1].id"),
    } <= found


def test_the_term_must_end_after_it_starts_r_ord_1():
    doc = contoso()
    doc["term"] = {"start": "2026-01-01", "end": "2025-12-31"}
    assert ("R-ORD-1", "term.end") in errors(doc)


@pytest.mark.parametrize("executed_on", [None, "2025-12-31", "2029-01-01"])
def test_an_active_order_is_executed_within_its_term_r_ord_1(executed_on):
    doc = contoso()
    doc["executed_on"] = executed_on
    assert errors(doc) == {("R-ORD-1", "executed_on")}


def test_a_draft_order_needs_no_execution_date():
    doc = contoso()
    doc["status"] = "draft"
    del doc["executed_on"]
    assert errors(doc) == set()


def test_line_and_event_dates_outside_the_term_are_refused_r_ord_1():
    doc = contoso()
    line(doc, "uer")["end"] = "2029-01-31"
    line(doc, "mcsap-plus")["start"] = "2025-12-01"
    doc["events"][0].update(start="2029-01-02", end="2029-01-03", confirmed_on="2028-09-01")
    uer, plus = index_of(doc, "uer"), index_of(doc, "mcsap-plus")
    assert errors(doc) == {
        ("R-ORD-1", f"lines[{uer}].end"),
        ("R-ORD-1", f"lines[{plus}].start"),
        ("R-ORD-1", "events[0].start"),
        ("R-ORD-1", "events[0].end"),
    }


def test_a_line_ending_before_it_starts_is_refused_r_ord_1():
    doc = contoso()
    line(doc, "uer").update(start="2027-01-01", end="2026-06-30")
    assert errors(doc) == {("R-ORD-1", f"lines[{index_of(doc, 'uer')}].end")}


def test_credits_on_a_line_not_funded_by_credits_are_refused_r_ord_1():
    doc = contoso()
    line(doc, "arr")["credits"] = 10
    assert errors(doc) == {("R-ORD-1", f"lines[{index_of(doc, 'arr')}].credits")}


# ------------------------------------------------------------------ catalog (R-CAT-1..3)


def test_an_unknown_service_code_is_refused_r_cat_1():
    doc = contoso()
    line(doc, "workshops-y2")["service"] = "worshops"
    i = index_of(doc, "workshops-y2")
    assert errors(doc) == {("R-CAT-1", f"lines[{i}].service")}
    assert "did you mean workshops" in messages(doc, "R-CAT-1")[0]


def test_a_unit_the_service_is_not_sold_by_is_refused_r_cat_1():
    doc = contoso()
    line(doc, "workshops-y2")["unit"] = "hours"
    assert errors(doc) == {("R-CAT-1", f"lines[{index_of(doc, 'workshops-y2')}].unit")}
    assert "per-attendee or dedicated-delivery" in messages(doc, "R-CAT-1")[0]


def test_the_currency_must_be_the_price_lists_r_cat_2():
    doc = contoso()
    doc["currency"] = "USD"
    assert errors(doc) == {("R-CAT-2", "currency")}


def test_an_unknown_price_list_is_refused_r_cat_2():
    doc = contoso()
    doc["price_list"] = "europe-2019-01"
    assert ("R-CAT-2", "price_list") in errors(doc)


def test_a_service_not_sold_in_the_sites_country_is_refused_r_cat_3(tmp_path):
    data = yaml.safe_load(shipped("catalog.yaml").read_text(encoding="utf-8"))
    data["services"]["workshops"]["countries"] = ["FR", "DE"]
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    catalog = Catalog.load(path)
    doc = contoso()
    # workshops-tokyo is delivered in Japan; the other workshop lines in France (host).
    assert errors(doc, catalog=catalog) == {("R-CAT-3", f"lines[{index_of(doc, 'workshops-tokyo')}].service")}
    line(doc, "workshops-tokyo")["site"] = "munich"
    assert errors(doc, catalog=catalog) == set()


# ------------------------------------------------------------------ sites (R-MC-1..3, R-SEV-4)


def test_an_unknown_site_reference_is_refused_r_mc_1():
    doc = contoso()
    line(doc, "chalk-talk-munich")["site"] = "lyon"
    assert errors(doc) == {("R-MC-1", f"lines[{index_of(doc, 'chalk-talk-munich')}].site")}


def test_the_host_site_must_be_one_of_the_sites_r_mc_1():
    doc = contoso()
    doc["host_site"] = "london"
    assert ("R-MC-1", "host_site") in errors(doc)


def test_uer_on_a_downstream_site_is_refused_r_mc_2():
    doc = contoso()
    line(doc, "uer")["site"] = "munich"
    assert errors(doc) == {("R-MC-2", f"lines[{index_of(doc, 'uer')}].site")}
    assert "host country only" in messages(doc, "R-MC-2")[0]


def test_uer_without_a_site_is_bought_for_the_host_r_mc_2():
    doc = contoso()
    del line(doc, "uer")["site"]
    assert errors(doc) == set()


@pytest.mark.parametrize("line_id", ["ede-munich-y1", "de-paris-y2"])
def test_ede_or_de_without_a_single_site_is_refused_r_mc_3(line_id):
    doc = contoso()
    del line(doc, line_id)["site"]
    assert errors(doc) == {("R-MC-3", f"lines[{index_of(doc, line_id)}].site")}


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"timezone": "Europe/Munich"}, "sites[1].timezone"),
        ({"country": "ZZ"}, "sites[1].country"),
        ({"calendar": {"subdivision": "XX"}}, "sites[1].calendar.subdivision"),
        ({"calendar": {"week": {"mon": ["09:00-25:00"]}}}, "sites[1].calendar.week"),
        (
            {"calendar": {"closures": ["2026-05-04"], "open_days": [{"date": "2026-05-04"}]}},
            "sites[1].calendar.closures",
        ),
    ],
)
def test_a_site_calendar_that_cannot_be_built_is_refused_where_it_is_wrong_r_sev_4(change, path):
    doc = contoso()
    doc["sites"][1].update(change)
    assert errors(doc) == {("R-SEV-4", path)}


# ------------------------------------------------------------------ base package (R-ORD-2, R-MCSAP-6)


def test_add_ons_without_a_base_package_are_refused_r_ord_2():
    doc = contoso()
    del doc["base_package"]
    del doc["flexible_allocation"]
    for item in doc["lines"]:
        if item.get("funding") == "flex":
            item["funding"] = "paid"
    found = errors(doc)
    assert ("R-ORD-2", f"lines[{index_of(doc, 'workshops-y1')}].service") in found
    assert ("R-ORD-2", f"lines[{index_of(doc, 'uer')}].service") in found
    # MCSAP says it in its own rule: an Enterprise Support plan for its whole duration.
    assert ("R-MCSAP-6", f"lines[{index_of(doc, 'mcsap-plus')}].service") in found
    assert ("R-ORD-2", f"lines[{index_of(doc, 'mcsap-plus')}].service") not in found
    assert {rule for rule, _ in found} == {"R-ORD-2", "R-MCSAP-6"}
    assert len(found) == len(doc["lines"])


def test_mcsap_without_a_base_package_is_refused_r_mcsap_6():
    doc = read_order_document(FABRIKAM)
    del doc["base_package"]
    del doc["flexible_allocation"]
    doc["lines"] = [{"id": "mcsap", "service": "mcsap", "quantity": 1, "unit": "annual", "price": 100000}]
    doc["scopes"] = {"mcsap": {"enrolled_products": ["azure-virtual-machines"]}}
    assert errors(doc) == {("R-MCSAP-6", "lines[0].service")}


def test_a_flexible_allocation_without_a_base_package_is_refused_r_flex_1():
    doc = read_order_document(FABRIKAM)
    del doc["base_package"]
    assert ("R-FLEX-1", "flexible_allocation") in errors(doc)


# ------------------------------------------------------------------ flexible allocation (R-FLEX-*)


def test_flex_never_pays_for_success_management_r_flex_4():
    doc = contoso()
    doc["lines"].append(
        {
            "id": "success",
            "service": "success-management",
            "quantity": 1,
            "unit": "as-needed",
            "funding": "flex",
        }
    )
    assert errors(doc) == {("R-FLEX-4", f"lines[{len(doc['lines']) - 1}].funding")}


def test_flex_on_a_service_that_is_not_flex_eligible_is_refused_r_flex_1():
    doc = contoso()
    doc["lines"].append(
        {
            "id": "rca",
            "service": "root-cause-analysis",
            "quantity": 1,
            "unit": "per-request",
            "funding": "flex",
        }
    )
    assert errors(doc) == {("R-FLEX-1", f"lines[{len(doc['lines']) - 1}].funding")}


def test_credits_and_custom_services_above_the_flex_cap_are_refused_r_flex_2():
    doc = contoso()
    line(doc, "credits-y1")["price"] = 34000
    doc["lines"].append(
        {
            "id": "custom-y1",
            "service": "custom-proactive-services",
            "quantity": 1,
            "unit": "engagement",
            "price": 16000,
            "funding": "flex",
            "contract_year": 1,
        }
    )
    line(doc, "workshops-y1")["price"] = 20000  # the year still holds EUR 200,000.00
    assert errors(doc) == {("R-FLEX-2", f"lines[{len(doc['lines']) - 1}].price")}
    message = messages(doc, "R-FLEX-2")[0]
    assert "EUR 50,000.00" in message and "EUR 46,000.00" in message and "contract year 1" in message.lower()


def test_the_flex_cap_is_the_greater_of_the_share_and_the_amount_r_flex_2():
    doc = contoso()
    doc["flexible_allocation"]["amount_per_year"] = 300000  # 20 % = EUR 60,000.00 > EUR 46,000.00
    line(doc, "credits-y1")["price"] = 60000
    assert errors(doc) == set()
    line(doc, "credits-y1")["price"] = 60000.01
    assert errors(doc) == {("R-FLEX-2", f"lines[{index_of(doc, 'credits-y1')}].price")}


def test_the_flex_cap_counts_each_contract_year_on_its_own_r_flex_2():
    doc = contoso()
    line(doc, "credits-y3")["contract_year"] = 1
    found = errors(doc)
    assert ("R-FLEX-2", f"lines[{index_of(doc, 'credits-y3')}].price") in found


def test_flex_lines_without_a_flexible_allocation_are_refused_r_flex_1():
    doc = read_order_document(FABRIKAM)
    del doc["flexible_allocation"]
    assert errors(doc) == {("R-FLEX-1", "lines[0].funding"), ("R-FLEX-1", "lines[1].funding")}


def test_flex_lines_beyond_the_allocation_are_refused_with_both_amounts_r_flex_1():
    doc = read_order_document(FABRIKAM)
    doc["lines"][1]["price"] = 30000.01
    assert errors(doc) == {("R-FLEX-1", "lines[1].price")}
    message = messages(doc, "R-FLEX-1")[0]
    assert "USD 50,000.01" in message and "USD 50,000.00" in message


def test_a_contract_year_beyond_the_term_is_refused_r_flex_3():
    doc = contoso()
    line(doc, "technology-advisor-y3")["contract_year"] = 4
    found = errors(doc)
    assert ("R-FLEX-3", f"lines[{index_of(doc, 'technology-advisor-y3')}].contract_year") in found


def test_a_flex_line_used_outside_its_contract_year_is_refused_r_flex_3():
    doc = contoso()
    line(doc, "ede-munich-y1")["end"] = "2027-03-31"
    assert errors(doc) == {("R-FLEX-3", f"lines[{index_of(doc, 'ede-munich-y1')}].end")}


def test_unallocated_flex_on_an_active_order_is_a_warning_not_an_error_r_flex_6():
    doc = contoso()
    line(doc, "technology-advisor-y3")["price"] = 5000
    found = validate_order(doc)
    assert [(v.rule, v.path, v.severity) for v in found] == [
        ("R-FLEX-6", "flexible_allocation.amount_per_year", "warning")
    ]
    assert is_valid(found)
    assert "EUR 10,000.00" in found[0].message and "contract year 3" in found[0].message.lower()
    doc["status"] = "draft"
    assert validate_order(doc) == []  # allocated at execution, not before


# ------------------------------------------------------------------ credits (R-CRED-2)


def test_a_credits_funded_line_says_how_many_credits_r_cred_2():
    doc = contoso()
    del line(doc, "workshops-tokyo")["credits"]
    assert errors(doc) == {("R-CRED-2", f"lines[{index_of(doc, 'workshops-tokyo')}].credits")}


def test_credits_spent_beyond_those_held_are_refused_r_cred_2():
    doc = read_order_document(FABRIKAM)  # holds 20 credits, spends 8
    doc["lines"].append(
        {
            "id": "more-seats",
            "service": "workshops",
            "quantity": 6,
            "unit": "per-attendee",
            "funding": "credits",
            "credits": 13,
        }
    )
    assert errors(doc) == {("R-CRED-2", "lines[4].credits")}
    assert "21 credits" in messages(doc, "R-CRED-2")[0] and "20" in messages(doc, "R-CRED-2")[0]
    doc["lines"][4]["credits"] = 12
    assert errors(doc) == set()


def test_credits_funded_lines_spend_only_credits_usable_at_execution_r_flex_3():
    """D17: a line bought at execution, in year 1, is not paid with year 3's credits;
    validation says so as the ledger's activation does (``draw_credits``)."""
    doc = contoso()  # year 1 holds 100 credits, year 3 150; the two lines spend 36 + 16
    line(doc, "workshops-tokyo")["credits"] = 90  # 106 > 100 usable in 2026, < 250 held
    assert errors(doc) == {("R-FLEX-3", f"lines[{index_of(doc, 'chalk-talk-munich')}].credits")}
    assert "only 100 of the credits held can be used then" in messages(doc, "R-FLEX-3")[0]
    with pytest.raises(Refused) as caught:
        activation(OrderFile.model_validate(doc), Catalog.load(), on=date(2026, 1, 1))
    assert caught.value.rule == "R-FLEX-3" and caught.value.details["by_contract_year"] == {"1": "10", "3": "150"}
    line(doc, "workshops-tokyo")["credits"] = 84
    assert errors(doc) == set()


# ------------------------------------------------------------------ limits (R-MCSAP-1, R-DEV-1)


@pytest.mark.parametrize("spend", [None, 59999999.99])
def test_mcsap_plus_without_the_spend_or_the_floor_price_is_refused_r_mcsap_1(spend):
    doc = contoso()
    doc["scopes"]["mcsap"]["evaluated_azure_spend_usd"] = spend
    assert errors(doc) == {("R-MCSAP-1", "scopes.mcsap.evaluated_azure_spend_usd")}
    assert "USD 60,000,000.00" in messages(doc, "R-MCSAP-1")[0]


def test_mcsap_plus_with_the_floor_price_paid_needs_no_spend_r_mcsap_1():
    doc = contoso()
    doc["scopes"]["mcsap"]["evaluated_azure_spend_usd"] = 1000000
    doc["scopes"]["mcsap"]["plus_floor_price_paid"] = True
    assert errors(doc) == set()


def test_developer_support_over_the_price_list_limit_is_refused_r_dev_1():
    doc = contoso()
    line(doc, "developer-support")["quantity"] = 4
    assert errors(doc) == set()
    doc["lines"].append(
        {
            "id": "developer-support-2",
            "service": "developer-support",
            "quantity": 1,
            "unit": "quantity",
        }
    )
    assert errors(doc) == {("R-DEV-1", f"lines[{len(doc['lines']) - 1}].quantity")}
    assert "limit of 4" in messages(doc, "R-DEV-1")[0] and "buys 5" in messages(doc, "R-DEV-1")[0]


# ------------------------------------------------------------------ scopes (R-SLA-2)


@pytest.mark.parametrize(
    "where",
    ["scopes.arr_components[1]", "scopes.mcsap.enrolled_products[0]", "lines[8].products[1]"],
)
def test_unknown_product_codes_are_refused_r_sla_2(where):
    doc = contoso()
    assert doc["lines"][8]["id"] == "ede-munich-y1"
    if where.startswith("scopes.arr"):
        doc["scopes"]["arr_components"][1] = "azure-app-servise"
    elif where.startswith("scopes.mcsap"):
        doc["scopes"]["mcsap"]["enrolled_products"][0] = "azure-vm"
    else:
        doc["lines"][8]["products"][1] = "azure-sql"
    assert errors(doc) == {("R-SLA-2", where)}


def test_arr_components_must_be_azure_components_r_sla_2():
    doc = contoso()
    doc["scopes"]["arr_components"].append("exchange-online")
    assert errors(doc) == {("R-SLA-2", "scopes.arr_components[3]")}


def test_an_arr_line_needs_named_components_and_components_need_an_arr_line_r_sla_2():
    doc = contoso()
    doc["scopes"]["arr_components"] = []
    assert errors(doc) == {("R-SLA-2", "scopes.arr_components")}
    doc = contoso()
    doc["lines"].pop(index_of(doc, "arr"))
    assert errors(doc) == {("R-SLA-2", "scopes.arr_components")}


def test_security_plus_tenants_are_given_iff_a_security_plus_line_r_sla_2():
    doc = contoso()
    doc["scopes"]["security_plus_tenants"] = []
    assert errors(doc) == {("R-SLA-2", "scopes.security_plus_tenants")}
    doc = read_order_document(FABRIKAM)
    doc["scopes"] = {"security_plus_tenants": ["fabrikam.onmicrosoft.com"]}
    assert errors(doc) == {("R-SLA-2", "scopes.security_plus_tenants")}


# ------------------------------------------------------------------ Azure Events (R-EVT-2)


def test_an_event_is_paid_by_an_azure_events_line_r_evt_2():
    doc = contoso()
    doc["events"][0]["line"] = "arr"
    assert errors(doc) == {("R-EVT-2", "events[0].line")}
    doc["events"][0]["line"] = "no-such-line"
    assert errors(doc) == {("R-EVT-2", "events[0].line")}


def test_more_events_than_the_line_buys_are_refused_r_evt_2():
    doc = contoso()
    doc["events"].append(
        {
            **doc["events"][0],
            "id": "spring-sale-2027",
            "start": "2027-04-05",
            "end": "2027-04-06",
            "confirmed_on": "2027-01-04",
        }
    )
    assert errors(doc) == {("R-EVT-2", "events[1].line")}
    line(doc, "azure-events")["quantity"] = 2
    assert errors(doc) == set()


@pytest.mark.parametrize(("end", "refused"), [("2026-11-27", False), ("2026-11-28", True)])
def test_an_event_covers_at_most_five_consecutive_days_r_evt_2(end, refused):
    doc = contoso()
    doc["events"][0]["end"] = end  # starts 2026-11-23
    assert errors(doc) == ({("R-EVT-2", "events[0].end")} if refused else set())


def test_an_event_ending_before_it_starts_is_refused_r_evt_2():
    doc = contoso()
    doc["events"][0]["end"] = "2026-11-22"
    assert errors(doc) == {("R-EVT-2", "events[0].end")}


@pytest.mark.parametrize(
    ("confirmed_on", "consent", "refused"),
    [
        ("2026-10-12", False, False),
        ("2026-10-13", False, True),
        ("2026-10-13", True, False),
        ("2026-11-24", False, True),
    ],
)
def test_an_event_is_confirmed_six_weeks_ahead_unless_the_provider_consents_r_evt_2(confirmed_on, consent, refused):
    doc = contoso()
    doc["events"][0].update(confirmed_on=confirmed_on, provider_consent=consent)  # starts 2026-11-23
    assert errors(doc) == ({("R-EVT-2", "events[0].confirmed_on")} if refused else set())


def test_an_event_runs_in_the_azure_public_cloud_only_r_evt_2():
    doc = contoso()
    doc["events"][0]["cloud"] = "usgov"
    assert errors(doc) == {("R-EVT-2", "events[0].cloud")}


# ------------------------------------------------------------------ contacts (R-ORD-4)


def test_the_host_site_needs_a_support_administrator_r_ord_4():
    doc = contoso()
    doc["contacts"][0]["roles"] = ["reactive-contact"]  # the others serve downstream sites
    assert errors(doc) == {("R-ORD-4", "contacts")}
    doc["contacts"][1]["site"] = "paris"
    assert errors(doc) == set()


def test_a_contact_serves_a_site_of_the_order_r_ord_4():
    doc = contoso()
    doc["contacts"][2]["site"] = "osaka"
    assert errors(doc) == {("R-ORD-4", "contacts[2].site")}


# ------------------------------------------------------------------ the Violation record


def test_a_violation_is_a_plain_record_for_json():
    violation = Violation("R-MC-2", "lines[2].site", "UER is bought for the host country only.")
    assert violation.to_dict() == {
        "rule": "R-MC-2",
        "path": "lines[2].site",
        "message": "UER is bought for the host country only.",
        "severity": "error",
    }
    assert str(violation) == "lines[2].site: UER is bought for the host country only. [R-MC-2]"
    assert not is_valid([violation]) and is_valid([Violation("R-FLEX-6", "x", "y", severity="warning")])


def test_amounts_are_decimal_not_float():
    doc = read_order_document(FABRIKAM)
    doc["lines"][0]["price"] = 0.1
    doc["lines"][1]["price"] = 0.2
    doc["flexible_allocation"]["amount_per_year"] = Decimal("0.3")
    assert errors(doc) == set()  # 0.1 + 0.2 == 0.3 exactly


# ------------------------------------------------------------------ reading the file


def test_a_yaml_syntax_error_names_its_line(tmp_path):
    path = tmp_path / "order.yaml"
    path.write_text("number: ESO-1\ncustomer: {code: x, name: X\ncurrency: EUR\n", encoding="utf-8")
    with pytest.raises(OrderFileUnreadable) as caught:
        read_order_document(path)
    assert "line " in caught.value.message and "\n" not in caught.value.message


def test_a_duplicate_key_is_refused_with_its_path_and_both_lines(tmp_path):
    path = tmp_path / "order.yaml"
    path.write_text(
        "number: ESO-1\nlines:\n  - id: a\n    service: workshops\n    service: chalk-talks\n",
        encoding="utf-8",
    )
    with pytest.raises(OrderFileUnreadable, match=r"'lines\[0\]\.service' is given twice \(lines 4 and 5\)"):
        read_order_document(path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [("- a\n- b\n", "is a list"), ("", "is empty"), ("just text\n", "a single value")],
)
def test_a_file_that_is_not_a_mapping_is_unreadable(tmp_path, text, problem):
    path = tmp_path / "order.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(OrderFileUnreadable, match=problem):
        read_order_document(path)


def test_a_missing_file_is_unreadable(tmp_path):
    with pytest.raises(OrderFileUnreadable, match="cannot be read"):
        read_order_document(tmp_path / "absent.yaml")


# ------------------------------------------------------------------ the command line


def validate_cli(path: Path | str, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "unisupport.cli.main", "order", "validate", str(path), *flags],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("path", [CONTOSO, FABRIKAM], ids=lambda p: p.name)
def test_cli_valid_example_exits_0_with_an_empty_list(path):
    run = validate_cli(path, "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"valid": True, "violations": []}


def test_cli_invalid_example_exits_1_with_every_violation():
    run = validate_cli(INVALID, "--json")
    assert run.returncode == 1, run.stderr
    data = json.loads(run.stdout)
    assert data["valid"] is False
    expected = [v.to_dict() for v in validate_order(read_order_document(INVALID))]
    assert data["violations"] == expected
    assert {"rule", "path", "message"} <= set(data["violations"][0])


def test_cli_human_output_is_a_table_of_violations(tmp_path):
    # A deep path (as on CI checkouts) must not wrap the headline mid-sentence.
    deep = tmp_path / ("a-rather-long-directory-name-" * 3) / INVALID.name
    deep.parent.mkdir()
    deep.write_bytes(INVALID.read_bytes())
    run = validate_cli(deep)
    assert run.returncode == 1
    assert f"{deep}: invalid, 19 errors" in run.stdout
    assert "R-MCSAP-1" in run.stdout and "lines[3].site" in run.stdout
    run = validate_cli(FABRIKAM)
    assert run.returncode == 0 and "valid" in run.stdout


def test_cli_warnings_keep_the_exit_code_at_0(tmp_path):
    doc = read_order_document(FABRIKAM)
    doc["lines"][1]["price"] = 29000
    path = tmp_path / "order.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    run = validate_cli(path, "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["valid"] is True and [v["rule"] for v in data["violations"]] == ["R-FLEX-6"]


def test_cli_syntax_error_exits_2_with_one_line_naming_the_line(tmp_path):
    path = tmp_path / "order.yaml"
    path.write_text("number: ESO-1\nterm:\n  start: 2026-01-01\n end: 2026-12-31\n", encoding="utf-8")
    run = validate_cli(path, "--json")
    assert run.returncode == 2
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "line 4" in lines[0]
    assert "Traceback" not in run.stderr


def test_cli_missing_file_exits_2_with_one_line(tmp_path):
    run = validate_cli(tmp_path / "absent.yaml", "--json")
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "absent.yaml" in lines[0] and "cannot be read" in lines[0]
    assert "Traceback" not in run.stderr
