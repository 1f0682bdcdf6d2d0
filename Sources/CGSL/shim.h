// The parts of GNU GSL that ClusterSim uses, for Swift.
#ifndef CLUSTERSIM_CGSL_SHIM_H
#define CLUSTERSIM_CGSL_SHIM_H

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>
#include <gsl/gsl_sort_double.h>
#include <gsl/gsl_multimin.h>

// GSL's generator types are mutable C globals (`extern const gsl_rng_type *gsl_rng_mt19937`),
// which Swift 6 strict concurrency refuses to read. These accessors read them in C.
static inline const gsl_rng_type *cgsl_rng_mt19937(void) { return gsl_rng_mt19937; }
static inline const gsl_rng_type *cgsl_rng_ranlxd2(void) { return gsl_rng_ranlxd2; }
static inline const gsl_multimin_fminimizer_type *cgsl_multimin_nmsimplex2(void) { return gsl_multimin_fminimizer_nmsimplex2; }

// GSL's default error handler aborts the process. ClusterSim turns it off once and checks
// every status code instead.
static inline void cgsl_disable_abort_on_error(void) { gsl_set_error_handler_off(); }

#endif
