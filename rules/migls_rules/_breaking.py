"""MG4 (breaks code that is still running) and MG5 (hygiene): the rules of this family."""

from migls_rules.drop_column import DropColumn
from migls_rules.drop_table import DropTable
from migls_rules.imports_application_code import ImportsApplicationCode
from migls_rules.rename_column import RenameColumn
from migls_rules.rename_table import RenameTable
from migls_rules.schema_and_data_in_one_revision import SchemaAndDataInOneRevision

RULES = (DropColumn, DropTable, RenameColumn, RenameTable, ImportsApplicationCode,
         SchemaAndDataInOneRevision)
