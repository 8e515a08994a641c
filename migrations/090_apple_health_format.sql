-- Apple Health's own export (export.zip or export.xml) is a third upload format.
ALTER TABLE raw_ingestions DROP CONSTRAINT raw_ingestions_format_check;
ALTER TABLE raw_ingestions ADD CONSTRAINT raw_ingestions_format_check
  CHECK (format IN ('hae', 'standard', 'apple_health'));
