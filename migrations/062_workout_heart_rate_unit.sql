-- Version-1 workouts send their heart-rate series in "bpm", version 2 in "count/min": the
-- same unit (factor 1). Series are now stored as count/min whatever was sent; rows stored
-- before keep their value and take the canonical unit name.
UPDATE workout_series SET unit = 'count/min' WHERE unit = 'bpm' AND series IN ('heartRateData', 'heartRateRecovery');
