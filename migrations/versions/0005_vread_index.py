"""Index versions by (type, id, version) so vread and instance history do not scan.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_resource_versions_type_id_version", "resource_versions",
                    ["res_type", "res_id", "version_id"])


def downgrade() -> None:
    op.drop_index("ix_resource_versions_type_id_version", table_name="resource_versions")
