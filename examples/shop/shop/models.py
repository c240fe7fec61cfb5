"""The shop's models: what `alembic revision --autogenerate` compares the database with.

The tests change this file (a column, an index, a foreign key) and check that
`migls revision --autogenerate` writes a revision that lints clean and runs both ways.
"""

from __future__ import annotations

import datetime

from sqlalchemy import DateTime, Integer, Numeric, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """The declarative base; its metadata is env.py's target_metadata."""


class Customer(Base):
    """Someone who orders."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(255), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)


class Order(Base):
    """An order of one customer."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(Integer, nullable=False)
    total: Mapped[float] = mapped_column(Numeric(10, 2), nullable=False)
    created_at: Mapped[datetime.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)
