"""Core storage: current resources and every version.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("pk", BigId, primary_key=True, autoincrement=True),
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=False), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=True),
        sa.PrimaryKeyConstraint("pk", name="pk_resources"),
        sa.UniqueConstraint("res_type", "res_id", name="uq_resources_res_type_res_id"),
    )
    op.create_index("ix_resources_type_updated", "resources", ["res_type", "last_updated", "pk"])
    op.create_table(
        "resource_versions",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("res_pk", BigId, nullable=False),
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=False), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_resource_versions"),
        sa.ForeignKeyConstraint(["res_pk"], ["resources.pk"], ondelete="CASCADE",
                                name="fk_resource_versions_res_pk_resources"),
        sa.UniqueConstraint("res_pk", "version_id", name="uq_resource_versions_res_pk_version_id"),
    )
    op.create_index("ix_resource_versions_type_seq", "resource_versions", ["res_type", "seq"])
    op.create_index("ix_resource_versions_updated", "resource_versions", ["last_updated"])


def downgrade() -> None:
    op.drop_table("resource_versions")
    op.drop_table("resources")
