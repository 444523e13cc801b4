# PGXS build of the retail_ltv extension.
#   make && make install && make installcheck
# The pure C++ core in src/core is compiled into the extension here; CMakeLists.txt builds the
# same sources as a standalone library for unit tests, fuzzing and benchmarks.

EXTENSION  = retail_ltv
EXTVERSION = 0.1.0
MODULE_big = retail_ltv

# Core components (src/core/<component>/) compiled in; override to build a subset while a
# component is under construction, e.g. `make LTV_COMPONENTS=csv LTV_PG_EXCLUDE=src/pg/forest_funcs.cpp`.
LTV_COMPONENTS ?= csv features generator forest clv selection explain analysis
LTV_PG_EXCLUDE ?=
CORE_SRCS = $(sort $(wildcard src/core/*.cpp) $(foreach c,$(LTV_COMPONENTS),$(wildcard src/core/$(c)/*.cpp)))
PG_SRCS   = $(filter-out $(LTV_PG_EXCLUDE),$(sort $(wildcard src/pg/*.cpp) $(wildcard src/pg/*.c)))
OBJS = $(patsubst %.cpp,%.o,$(filter %.cpp,$(CORE_SRCS) $(PG_SRCS))) \
       $(patsubst %.c,%.o,$(filter %.c,$(PG_SRCS)))

# The install script is assembled from the ordered pieces in src/sql/ so that each feature
# keeps its SQL next to its concern.
SQL_PARTS = $(sort $(wildcard src/sql/[0-9]*.sql))
DATA_built = $(EXTENSION)--$(EXTVERSION).sql

REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)

PG_CONFIG ?= pg_config

PG_CPPFLAGS = -I$(srcdir)/src -I/usr/include/eigen3
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -fPIC -O2
SHLIB_LINK = -lcsv -lz -lstdc++ -lpthread

# No LLVM bitcode: JIT inlining of C++ code brings nothing here and needs a matching clang.
# (Must come before the PGXS include, which decides the targets.)
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS gives CXXFLAGS the C flags of the server build; add ours (C++17, warnings).
override CXXFLAGS += $(PG_CXXFLAGS)
# The hot loops of the core (files named *_kernel.cpp: histogram building, split scans,
# partitioning) at -O3, whose unrolling and vectorisation they are written for; everything
# else at the server's -O2. CMakeLists.txt applies the same rule.
KERNEL_OBJS = $(patsubst %.cpp,%.o,$(filter %_kernel.cpp,$(CORE_SRCS)))
$(KERNEL_OBJS): override CXXFLAGS += -O3
# Postgres headers trip -Wextra in C++ in ways that are not ours to fix.
src/pg/%.o: override CXXFLAGS += -Wno-register -Wno-sign-compare -Wno-cast-function-type
# Header dependencies (PGXS tracks none without --enable-depend): a changed header must
# rebuild every object that includes it, or objects built against the old layout link
# together and crash.
override CXXFLAGS += -MMD -MP
EXTRA_CLEAN += $(OBJS:.o=.d)
-include $(OBJS:.o=.d)

$(DATA_built): $(SQL_PARTS)
	cat $^ > $@

.PHONY: format
format:
	clang-format -i $(CORE_SRCS) $(PG_SRCS) $(wildcard src/core/*.h src/core/*/*.h src/pg/*.h)
