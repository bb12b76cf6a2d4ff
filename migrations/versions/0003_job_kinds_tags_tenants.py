"""job kinds, tags, tenants, labels, sweeps, workers

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 06:05:16.469003
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sweeps',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=True),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('base', sa.JSON(), nullable=False),
    sa.Column('space', sa.JSON(), nullable=False),
    sa.Column('metric', sa.String(length=100), nullable=True),
    sa.Column('goal', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sweeps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sweeps_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sweeps_tenant'), ['tenant'], unique=False)

    op.create_table('workers',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('jobs_claimed', sa.Integer(), nullable=False),
    sa.Column('current_job_id', sa.String(length=32), nullable=True),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('workers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workers_heartbeat_at'), ['heartbeat_at'], unique=False)

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tenant', sa.String(length=64), nullable=True))

    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tags', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('tenant', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('n_classes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('labels_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('test_labels_key', sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f('ix_datasets_tenant'), ['tenant'], unique=False)

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), server_default=sa.text("'train'"), nullable=False))
        batch_op.add_column(sa.Column('spec', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('result', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('priority', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('tags', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('tenant', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('sweep_id', sa.String(length=32), nullable=True))
        batch_op.alter_column('dataset_id',
               existing_type=sa.VARCHAR(length=32),
               nullable=True)
        batch_op.alter_column('model_spec',
               existing_type=sa.JSON(),
               nullable=True)
        batch_op.alter_column('training',
               existing_type=sa.JSON(),
               nullable=True)
        batch_op.create_index('ix_jobs_status_priority_created', ['status', 'priority', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_jobs_sweep_id'), ['sweep_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_jobs_tenant'), ['tenant'], unique=False)

    with op.batch_alter_table('models', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), server_default=sa.text("'rbm'"), nullable=False))
        batch_op.add_column(sa.Column('tags', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('tenant', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('info', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_models_tenant'), ['tenant'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('models', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_models_tenant'))
        batch_op.drop_column('info')
        batch_op.drop_column('tenant')
        batch_op.drop_column('tags')
        batch_op.drop_column('kind')

    # jobs of kinds 0002 cannot represent (no dataset, no training spec) go with the downgrade
    op.execute("DELETE FROM job_events WHERE job_id IN (SELECT id FROM jobs WHERE kind <> 'train')")
    op.execute("DELETE FROM jobs WHERE kind <> 'train'")
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_tenant'))
        batch_op.drop_index(batch_op.f('ix_jobs_sweep_id'))
        batch_op.drop_index('ix_jobs_status_priority_created')
        batch_op.alter_column('training',
               existing_type=sa.JSON(),
               nullable=False)
        batch_op.alter_column('model_spec',
               existing_type=sa.JSON(),
               nullable=False)
        batch_op.alter_column('dataset_id',
               existing_type=sa.VARCHAR(length=32),
               nullable=False)
        batch_op.drop_column('sweep_id')
        batch_op.drop_column('tenant')
        batch_op.drop_column('tags')
        batch_op.drop_column('priority')
        batch_op.drop_column('result')
        batch_op.drop_column('spec')
        batch_op.drop_column('kind')

    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_datasets_tenant'))
        batch_op.drop_column('test_labels_key')
        batch_op.drop_column('labels_key')
        batch_op.drop_column('n_classes')
        batch_op.drop_column('tenant')
        batch_op.drop_column('tags')

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('tenant')

    with op.batch_alter_table('workers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workers_heartbeat_at'))

    op.drop_table('workers')
    with op.batch_alter_table('sweeps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sweeps_tenant'))
        batch_op.drop_index(batch_op.f('ix_sweeps_created_at'))

    op.drop_table('sweeps')
