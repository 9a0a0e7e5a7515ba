"""Provisioning never takes a custom domain or a DNS record from someone else unless told to, and says so."""

import dataclasses

import pytest

from tests.aws_state import REGION, REGIONAL_ZONE_ID
from tests.provisioning.test_reconcile import CERTIFICATE, desired, run, state, with_domain  # noqa: F401
from websockets_app.exceptions import ProvisioningError

TARGET = f"d-chat-example-com.execute-api.{REGION}.amazonaws.com"


def another_api_on_the_domain(aws) -> str:
    gateway = aws.session.client("apigatewayv2")
    other = gateway.create_api(Name="someone-elses-api", ProtocolType="WEBSOCKET", RouteSelectionExpression="$x")
    gateway.create_stage(ApiId=other["ApiId"], StageName="prod")
    configuration = {"CertificateArn": CERTIFICATE, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}
    gateway.create_domain_name(DomainName="chat.example.com", DomainNameConfigurations=[configuration])
    gateway.create_api_mapping(DomainName="chat.example.com", ApiId=other["ApiId"], Stage="prod")
    return other["ApiId"]


def a_record_of_someone_else(aws, record: dict) -> None:
    aws.session.client("route53").change_resource_record_sets(
        HostedZoneId=aws.zone_id,
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {"Name": "chat.example.com", **record}}]},
    )


def mappings(aws) -> list[tuple[str, str]]:
    items = aws.session.client("apigatewayv2").get_api_mappings(DomainName="chat.example.com")["Items"]
    return sorted((item["ApiId"], item["Stage"]) for item in items)


def test_a_domain_mapped_to_another_api_is_refused(aws, desired):  # noqa: F811
    other = another_api_on_the_domain(aws)

    with pytest.raises(ProvisioningError) as refused:
        run(aws, with_domain(desired))

    assert str(refused.value) == (
        f"Refused to take over chat.example.com: it is mapped to another API ({other}/prod). Unmap it there, or "
        "allow it explicitly (create_custom_domain --take-over, or take_over_domain in the stage's websocket_api "
        "settings)"
    )
    assert mappings(aws) == [(other, "prod")]
    assert state(aws)["dns"] == []
    assert refused.value.outcome.custom_domain_created is False


def test_taking_over_a_domain_when_told_to(aws, desired):  # noqa: F811
    other = another_api_on_the_domain(aws)
    wanted = with_domain(desired)

    outcome, _ = run(aws, dataclasses.replace(wanted, domain=dataclasses.replace(wanted.domain, take_over=True)))

    assert mappings(aws) == [(outcome.api_id, "dev")]
    assert other != outcome.api_id
    assert state(aws)["dns"] == [("chat.example.com.", TARGET, REGIONAL_ZONE_ID)]


@pytest.mark.parametrize(
    ("record", "described"),
    [
        ({"Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.10"}]}, "A 192.0.2.10"),
        (
            {
                "Type": "A",
                "AliasTarget": {
                    "HostedZoneId": "Z2FDTNDATAQYW2",
                    "DNSName": "d111111abcdef8.cloudfront.net.",
                    "EvaluateTargetHealth": False,
                },
            },
            "alias d111111abcdef8.cloudfront.net",
        ),
    ],
)
def test_a_dns_record_it_did_not_make_is_not_overwritten(aws, desired, record, described):  # noqa: F811
    a_record_of_someone_else(aws, record)

    with pytest.raises(ProvisioningError) as refused:
        run(aws, with_domain(desired))

    assert str(refused.value) == (
        f"Refused to overwrite the DNS record chat.example.com in zone {aws.zone_id}: it points at {described}, not "
        "at this API's domain. Remove it, or allow it explicitly (create_custom_domain --take-over, or "
        "take_over_domain in the stage's websocket_api settings)"
    )
    records = aws.session.client("route53").list_resource_record_sets(HostedZoneId=aws.zone_id)
    [kept] = [item for item in records["ResourceRecordSets"] if item["Name"] == "chat.example.com."]
    assert kept.get("AliasTarget", {}).get("DNSName") != TARGET


def test_replacing_a_dns_record_when_told_to(aws, desired):  # noqa: F811
    a_record_of_someone_else(aws, {"Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.10"}]})
    wanted = with_domain(desired)

    run(aws, dataclasses.replace(wanted, domain=dataclasses.replace(wanted.domain, take_over=True)))

    assert state(aws)["dns"] == [("chat.example.com.", TARGET, REGIONAL_ZONE_ID)]


def test_its_own_domain_and_record_are_kept_without_being_told(aws, desired):  # noqa: F811
    run(aws, with_domain(desired))
    aws.calls.clear()

    run(aws, with_domain(desired))

    assert aws.calls.writes == []
