"""`tenure backfill emails` on DynamoDB Local: customers created before the email index are
found by email once it ran; a table that is not there is refused with exit code 2."""

from datetime import UTC, datetime

from typer.testing import CliRunner

from tenure.domain.customers import Customer
from tenure.ports import Commit
from tenure.store.dynamodb import DynamoRepository
from tenure_local.cli.main import app
from tenure_local.stack.local_stack import LocalStack

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_the_backfill_indexes_customers_the_index_never_saw(local_stack: LocalStack) -> None:
    # Given two customers whose index items are gone, as before the index existed
    local_stack.reset_table()
    client = local_stack.dynamodb_client()
    repo = DynamoRepository(client, local_stack.table_name)
    for n, email in enumerate(["Anna@Example.com", "boris@example.com"]):
        repo.commit(Commit(customers=[Customer(id=f"c{n}", email=email, created_at=T0)]))
    for pk, sk in (("EMAIL#a", "anna@example.com#c0"), ("EMAIL#b", "boris@example.com#c1")):
        client.delete_item(TableName=local_stack.table_name, Key={"PK": {"S": pk}, "SK": {"S": sk}})
    assert repo.find_customers_by_email("anna", 10) == []
    # When the backfill runs
    done = CliRunner().invoke(app, ["backfill", "emails", "--table", local_stack.table_name])
    # Then both are found by email
    assert done.exit_code == 0, done.output
    assert "indexed the emails of 2 customers" in done.output
    assert repo.find_customers_by_email("ANNA", 10) == [("anna@example.com", "c0")]
    assert repo.find_customers_by_email("boris@", 10) == [("boris@example.com", "c1")]


def test_backfilling_a_table_that_is_not_there_is_refused(local_stack: LocalStack) -> None:
    done = CliRunner().invoke(app, ["backfill", "emails", "--table", "no-such-table"])
    assert done.exit_code == 2
    assert "no table named 'no-such-table'" in done.output
