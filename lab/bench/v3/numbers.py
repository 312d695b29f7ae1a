"""Arithmetic and word problems for v3, each written out as its own sentence.

Follow-ups depend on the earlier answer ("and if ...?"), so a policy must read the history."""

from __future__ import annotations

from lab.bench.v3.items import Family, fam, num

NUMBERS: tuple[Family, ...] = (
    fam("math-plain", "arithmetic",
        num("What is 17 times 23?", "391.", 391),
        num("What is 1,000 minus 387?", "613.", 613),
        num("Divide 144 by 12.", "12.", 12),
        num("What's 15 % of 80?", "12.", 12),
        num("What is the square root of 169?", "13.", 13),
        num("Add 456 and 789.", "1245.", 1245),
        num("What is 2 to the power of 10?", "1024.", 1024),
        num("What is half of 3,250?", "1625.", 1625),
        num("Multiply 0.5 by 46.", "23.", 23),
        num("What is 9 squared minus 4 squared?", "81 - 16 = 65.", 65)),
    fam("math-money", "reasoning",
        num("A coffee costs $3.40. How much do 5 coffees cost?", "$17.00.", 17, 0.005,
            then=(num("And how much change do I get from a $20 note?", "$3.00.", 3, 0.005),)),
        num("A jacket costs $80 and is 25 % off. What is the sale price?", "$60.", 60, 0.005),
        num("Three friends split a $57 bill equally. How much does each pay?", "$19 each.", 19,
            0.005),
        num("I earn $15 an hour and work 38 hours. What do I earn that week?", "$570.", 570,
            0.005, then=(num("How much is that over 4 such weeks?", "$2,280.", 2280, 0.005),)),
        num("A meal costs $42. What is a 15 % tip on it?", "$6.30.", 6.3, 0.005),
        num("Apples are $2.50 a kilo. How much for 3 kilos?", "$7.50.", 7.5, 0.005),
        num("I saved $35 a month for a year. How much did I save?", "$420.", 420, 0.005),
        num("A phone costs $600 and I pay it off over 12 months. How much a month?", "$50.",
            50, 0.005)),
    fam("math-time-distance", "reasoning",
        num("A train travels at 90 km/h for 2 hours. How far does it go?", "180 km.", 180,
            then=(num("How long would 270 km take at that speed, in hours?", "3 hours.", 3),)),
        num("I walk 5 km in an hour. How many minutes do I need for 2 km?", "24 minutes.", 24),
        num("A film starts at 7:45 pm and lasts 2 hours 10 minutes. At what hour does it end "
            "(the minutes are 55)?", "9:55 pm, so the hour is 9.", 9),
        num("My flight leaves at 14:20 and I need 90 minutes at the airport first. By what hour "
            "must I arrive (the minutes are 50)?", "12:50.", 12),
        num("A car uses 6 litres of fuel per 100 km. How many litres for 350 km?", "21 litres.",
            21),
        num("I read 25 pages a day. How many days to finish a 300-page book?", "12 days.", 12),
        num("A runner does a lap in 90 seconds. How many minutes for 6 laps?", "9 minutes.", 9)),
    fam("math-everyday-counts", "reasoning",
        num("A dozen eggs cost $3. How many eggs can I buy with $9?", "36 eggs.", 36),
        num("There are 28 students and each table seats 4. How many tables are needed?",
            "7 tables.", 7),
        num("A pizza is cut into 8 slices and 3 people eat 2 slices each. How many slices are "
            "left?", "2 slices.", 2),
        num("Each box holds 6 bottles. How many boxes do I need for 40 bottles?", "7 boxes.", 7),
        num("My garden is 12 m long and 5 m wide. What is its area in square metres?", "60 m².",
            60, then=(num("And how many metres of fence go all around it?", "34 m.", 34),)),
        num("A class of 30 has 12 boys. How many girls are there?", "18.", 18),
        num("I have 3 shirts and 4 pairs of trousers. How many different outfits can I make?",
            "12 outfits.", 12),
        num("A cake recipe for 4 people uses 3 eggs. How many eggs for 12 people?", "9 eggs.",
            9)),
    fam("math-ages-puzzles", "reasoning",
        num("Maria is 4 years older than her brother, who is 9. How old will Maria be in 5 "
            "years?", "18.", 18),
        num("I think of a number, double it and add 6, and get 20. What was the number?", "7.",
            7),
        num("A father is three times as old as his 12-year-old son. How old is the father?",
            "36.", 36, then=(num("How old was he when the son was born?", "24.", 24),)),
        num("If 5 machines make 5 widgets in 5 minutes, how many minutes do 100 machines take to "
            "make 100 widgets?", "5 minutes.", 5),
        num("A bat and a ball cost $1.10 together, and the bat costs $1.00 more than the ball. "
            "How many cents is the ball?", "5 cents.", 5),
        num("How many legs do 3 dogs and 2 chickens have together?", "12 + 4 = 16.", 16),
        num("What is the next number: 2, 4, 8, 16, ...?", "32.", 32),
        num("What comes next in the sequence 1, 4, 9, 16, 25?", "36.", 36)),
    fam("math-percent-stats", "arithmetic",
        num("What is the average of 4, 8, 15 and 21?", "12.", 12),
        num("A price went from $50 to $60. By what percent did it rise?", "20 %.", 20),
        num("I scored 45 out of 60 on a test. What percentage is that?", "75 %.", 75),
        num("What is 3/4 written as a decimal?", "0.75.", 0.75, 0.001),
        num("Round 3.14159 to two decimal places.", "3.14.", 3.14, 0.001),
        num("What is the median of 3, 9, 1, 7 and 5?", "5.", 5),
        num("If 40 % of a group of 50 people are adults, how many are adults?", "20.", 20)),
)
