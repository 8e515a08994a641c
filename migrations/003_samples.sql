-- Samples. Identity is (user, what, start, end, source, qualifier): a missing source is ''
-- and a missing end equals the start, so no key column is ever NULL.
-- High-volume tables are partitioned by month on start_at; partitions are created on demand
-- (src/storage/partitions.ts) for whatever months a batch touches.
-- CHECK constraints hold the fixed outer limits; configuration may only narrow them.

CREATE TABLE quantity_samples (
  user_id uuid NOT NULL,
  metric text NOT NULL,
  start_at timestamptz NOT NULL,
  end_at timestamptz NOT NULL,
  source text NOT NULL,
  qualifier text NOT NULL,
  value double precision NOT NULL,
  unit text NOT NULL,
  sent_value double precision NOT NULL,
  sent_unit text NOT NULL,
  extra jsonb,
  ingestion_id uuid,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, metric, start_at, end_at, source, qualifier),
  CHECK (end_at >= start_at),
  CHECK (value = value AND value NOT IN ('Infinity'::float8, '-Infinity'::float8)),
  CHECK (metric NOT IN ('step_count', 'flights_climbed', 'active_energy', 'basal_energy_burned',
    'walking_running_distance', 'cycling_distance', 'swimming_distance', 'apple_exercise_time',
    'apple_stand_time', 'apple_stand_hour', 'dietary_energy') OR value >= 0)
) PARTITION BY RANGE (start_at);

CREATE TABLE heart_rate_samples (
  user_id uuid NOT NULL,
  start_at timestamptz NOT NULL,
  end_at timestamptz NOT NULL,
  source text NOT NULL,
  min double precision NOT NULL CHECK (min BETWEEN 1 AND 400),
  avg double precision NOT NULL CHECK (avg BETWEEN 1 AND 400),
  max double precision NOT NULL CHECK (max BETWEEN 1 AND 400),
  context text,
  ingestion_id uuid,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, start_at, end_at, source),
  CHECK (end_at >= start_at),
  CHECK (min <= avg AND avg <= max)
) PARTITION BY RANGE (start_at);

CREATE TABLE blood_pressure_samples (
  user_id uuid NOT NULL,
  start_at timestamptz NOT NULL,
  end_at timestamptz NOT NULL,
  source text NOT NULL,
  systolic double precision NOT NULL CHECK (systolic BETWEEN 20 AND 400),
  diastolic double precision NOT NULL CHECK (diastolic BETWEEN 10 AND 300),
  pulse double precision CHECK (pulse BETWEEN 1 AND 400),
  ingestion_id uuid,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, start_at, end_at, source),
  CHECK (end_at >= start_at),
  CHECK (systolic > diastolic)
) PARTITION BY RANGE (start_at);

CREATE TABLE sleep_segments (
  user_id uuid NOT NULL,
  start_at timestamptz NOT NULL,
  end_at timestamptz NOT NULL,
  source text NOT NULL,
  stage text NOT NULL CHECK (stage IN ('Awake', 'Asleep', 'Core', 'REM', 'Deep', 'Unspecified', 'InBed')),
  hours double precision NOT NULL CHECK (hours >= 0),
  ingestion_id uuid,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, start_at, end_at, source, stage),
  CHECK (end_at >= start_at)
) PARTITION BY RANGE (start_at);

-- A summarised night is identified by the local date it ends on and its source: a night
-- re-sent with a later sleepEnd replaces itself instead of becoming a second night.
CREATE TABLE sleep_nights (
  user_id uuid NOT NULL,
  night_date date NOT NULL,
  source text NOT NULL,
  start_at timestamptz NOT NULL,
  end_at timestamptz NOT NULL,
  total_sleep double precision CHECK (total_sleep >= 0),
  asleep double precision CHECK (asleep >= 0),
  core double precision CHECK (core >= 0),
  deep double precision CHECK (deep >= 0),
  rem double precision CHECK (rem >= 0),
  awake double precision CHECK (awake >= 0),
  in_bed double precision CHECK (in_bed >= 0),
  in_bed_start timestamptz,
  in_bed_end timestamptz,
  ingestion_id uuid,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, night_date, source)
);

CREATE TABLE workouts (
  user_id uuid NOT NULL,
  workout_key text NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL,
  start_at timestamptz NOT NULL,
  end_at timestamptz NOT NULL,
  duration_s double precision CHECK (duration_s >= 0),
  distance_m double precision CHECK (distance_m >= 0),
  active_energy_kcal double precision CHECK (active_energy_kcal >= 0),
  total_energy_kcal double precision CHECK (total_energy_kcal >= 0),
  location text,
  is_indoor boolean,
  min_heart_rate double precision,
  avg_heart_rate double precision,
  max_heart_rate double precision,
  original jsonb NOT NULL,
  -- The route's bounding box in plain columns, so a bbox search works without PostGIS.
  route_min_lon double precision,
  route_min_lat double precision,
  route_max_lon double precision,
  route_max_lat double precision,
  ingestion_id uuid,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, workout_key),
  UNIQUE (user_id, id),
  CHECK (end_at >= start_at)
);
CREATE INDEX workouts_user_start_idx ON workouts (user_id, start_at);

CREATE TABLE workout_route_points (
  user_id uuid NOT NULL,
  workout_id uuid NOT NULL,
  point_time timestamptz NOT NULL,
  lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
  lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
  altitude double precision,
  speed double precision,
  course double precision,
  horizontal_accuracy double precision,
  vertical_accuracy double precision,
  PRIMARY KEY (user_id, workout_id, point_time)
);

CREATE TABLE workout_series (
  user_id uuid NOT NULL,
  workout_id uuid NOT NULL,
  series text NOT NULL,
  point_time timestamptz NOT NULL,
  source text NOT NULL,
  qty double precision,
  min double precision,
  avg double precision,
  max double precision,
  unit text,
  PRIMARY KEY (user_id, workout_id, series, point_time, source)
);

-- State of mind, symptoms, medications, cycle tracking and heart-rate notifications:
-- one typed event table, the record kept as sent.
CREATE TABLE health_events (
  user_id uuid NOT NULL,
  type text NOT NULL CHECK (type IN ('state_of_mind', 'symptoms', 'medications', 'cycle_tracking', 'heart_rate_notifications')),
  start_at timestamptz NOT NULL,
  end_at timestamptz NOT NULL,
  source text NOT NULL,
  qualifier text NOT NULL,
  data jsonb NOT NULL,
  ingestion_id uuid,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, type, start_at, end_at, source, qualifier),
  CHECK (end_at >= start_at)
);

CREATE TABLE ecg_recordings (
  user_id uuid NOT NULL,
  start_at timestamptz NOT NULL,
  end_at timestamptz NOT NULL,
  source text NOT NULL,
  classification text,
  average_heart_rate double precision,
  sampling_frequency double precision,
  voltages double precision[] NOT NULL,
  voltage_times double precision[] NOT NULL,
  voltage_unit text,
  data jsonb NOT NULL,
  ingestion_id uuid,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, start_at, end_at, source),
  CHECK (end_at >= start_at)
);
